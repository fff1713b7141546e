using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>
/// The accounts the fuzz suite sends requests as, each with its own credentials held by hand (no cookie jar), so
/// a response's Set-Cookie never changes who the next request is. A request may end its caller's session, token
/// or account (log out, change the password or address); <see cref="EnsureAliveAsync"/> notices and signs the
/// caller in again, as a new account when the old one's password or address was changed.
/// </summary>
internal sealed class FuzzCallers(HttpClient client, QuartetFactory factory)
{
    private sealed class Account
    {
        public string Email { get; set; } = "";
        public Guid Id { get; set; }
        public string? Cookie { get; set; }
        public string? Csrf { get; set; }
        public string? AccessToken { get; set; }
        public Guid NoteId { get; set; }
        public string? Cursor { get; set; }
        public string? SearchCursor { get; set; }
    }

    private readonly Dictionary<Caller, Account> _accounts = [];
    private int _generation;

    public const string CookieName = "__Host-quartet_session";

    public string TargetEmail { get; } = "fuzz-target@example.com";
    public Guid VictimId { get; private set; }
    public string RefreshToken { get; private set; } = "";

    /// <summary>Requests the harness itself sent (sign-ins, checks, seed data), not counted as fuzz requests.</summary>
    public int HarnessRequests { get; private set; }

    public async Task SetUpAsync(CancellationToken cancellationToken)
    {
        await RegisterAsync(TargetEmail, cancellationToken);
        VictimId = await RegisterAsync("fuzz-victim@example.com", cancellationToken);
        RefreshToken = (await PostJsonAsync("/api/auth/token", new { email = TargetEmail, password = ApiClient.StrongPassword }, cancellationToken))
            .GetProperty("refreshToken").GetString()!;

        var admin = new Account { Email = "fuzz-admin@example.com" };
        admin.Id = await RegisterAsync(admin.Email, cancellationToken);
        await factory.Stack.ExecuteAsync(factory.Database, $"UPDATE users SET role = 'admin' WHERE id = '{admin.Id}'");
        await LoginAsync(admin, cancellationToken);
        _accounts[Caller.Admin] = admin;
        foreach (var caller in new[] { Caller.Session, Caller.Bearer })
        {
            _accounts[caller] = await NewAccountAsync(caller, cancellationToken);
        }
    }

    /// <summary>The values a valid request of <paramref name="caller"/> is made of.</summary>
    public FuzzSeeds Seeds(Caller caller)
    {
        var account = _accounts.GetValueOrDefault(caller);
        var bearer = _accounts[Caller.Bearer];
        return new FuzzSeeds
        {
            NoteId = account?.NoteId ?? _accounts[Caller.Session].NoteId,
            OtherUserId = VictimId,
            LoginEmail = TargetEmail,
            RefreshToken = RefreshToken,
            Cursor = account?.Cursor ?? bearer.Cursor,
            SearchCursor = account?.SearchCursor ?? bearer.SearchCursor,
            BearerToken = bearer.AccessToken!,
            JwtSecret = factory.Secrets.Values["jwt_secret"],
            UserId = bearer.Id,
        };
    }

    /// <summary>The request as <paramref name="caller"/> sends it: its cookie and CSRF header, or its bearer token, unless the case forges them.</summary>
    public HttpRequestMessage Build(Caller caller, FuzzCase fuzz) => Build(caller, _accounts.GetValueOrDefault(caller), fuzz);

    private static HttpRequestMessage Build(Caller caller, Account? account, FuzzCase fuzz)
    {
        var request = new HttpRequestMessage(new HttpMethod(fuzz.Method), new Uri(fuzz.PathAndQuery, UriKind.Relative));
        var browser = caller is Caller.Session or Caller.Admin;
        var cookie = fuzz.Cookie is { } c ? c.Value : browser ? account!.Cookie : null;
        var csrf = fuzz.Csrf is { } x ? x.Value : browser ? account!.Csrf : null;
        var authorization = fuzz.Authorization is { } a ? a.Value : caller == Caller.Bearer ? "Bearer " + account!.AccessToken : null;
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{CookieName}={cookie}");
        }
        if (csrf is not null)
        {
            request.Headers.TryAddWithoutValidation("X-CSRF-Token", csrf);
        }
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        foreach (var (name, value) in fuzz.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (fuzz.Body is not null)
        {
            request.Content = new ByteArrayContent(fuzz.Body);
            request.Content.Headers.Remove("Content-Type");
            if (fuzz.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", fuzz.ContentType);
            }
        }
        return request;
    }

    /// <summary>Signs <paramref name="caller"/> in again if its session or token ended, and gives it a note to work on.</summary>
    public async Task EnsureAliveAsync(Caller caller, CancellationToken cancellationToken)
    {
        if (caller == Caller.Anonymous)
        {
            return;
        }
        var account = _accounts[caller];
        if (!await IsAliveAsync(caller, account, cancellationToken))
        {
            if (caller == Caller.Admin)
            {
                await LoginAsync(account, cancellationToken);
            }
            else if (!await TrySignInAsync(caller, account, cancellationToken))
            {
                _accounts[caller] = account = await NewAccountAsync(caller, cancellationToken);
            }
        }
        if (caller != Caller.Admin)
        {
            using var request = Build(caller, account, new FuzzCase("check", "GET", $"/api/notes/{account.NoteId}", [], null, null));
            using var response = await SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await CreateNotesAsync(caller, account, cancellationToken);
            }
        }
    }

    private async Task<bool> IsAliveAsync(Caller caller, Account account, CancellationToken cancellationToken)
    {
        using var request = Build(caller, account, new FuzzCase("check", "GET", "/api/auth/session", [], null, null));
        using var response = await SendAsync(request, cancellationToken);
        return response.StatusCode == HttpStatusCode.OK
            && (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid() == account.Id;
    }

    private async Task<Account> NewAccountAsync(Caller caller, CancellationToken cancellationToken)
    {
        var account = new Account { Email = $"fuzz-{caller.ToString().ToLowerInvariant()}-{++_generation}@example.com" };
        account.Id = await RegisterAsync(account.Email, cancellationToken);
        Assert.True(await TrySignInAsync(caller, account, cancellationToken), $"cannot sign in {account.Email}");
        await CreateNotesAsync(caller, account, cancellationToken);
        return account;
    }

    private async Task<bool> TrySignInAsync(Caller caller, Account account, CancellationToken cancellationToken)
    {
        if (caller == Caller.Bearer)
        {
            using var response = await client.PostAsJsonAsync("/api/auth/token", new { email = account.Email, password = ApiClient.StrongPassword }, cancellationToken);
            HarnessRequests++;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }
            account.AccessToken = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString();
            return true;
        }
        return await LoginAsync(account, cancellationToken, required: false);
    }

    private async Task<bool> LoginAsync(Account account, CancellationToken cancellationToken, bool required = true)
    {
        using var response = await client.PostAsJsonAsync("/api/auth/login", new { email = account.Email, password = ApiClient.StrongPassword }, cancellationToken);
        HarnessRequests++;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.False(required, $"login of {account.Email}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            return false;
        }
        var setCookie = response.Headers.GetValues("Set-Cookie").First(h => h.StartsWith(CookieName + "=", StringComparison.Ordinal));
        account.Cookie = setCookie[(CookieName.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)];
        account.Csrf = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("csrfToken").GetString();
        return true;
    }

    /// <summary>Two notes, and a real cursor of each kind (plain and search) to tamper with.</summary>
    private async Task CreateNotesAsync(Caller caller, Account account, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 2; i++)
        {
            using var request = Build(caller, account, new FuzzCase("seed", "POST", "/api/notes", [],
                JsonSerializer.SerializeToUtf8Bytes(new { title = $"fuzz note {i}", body = "fuzz words", tags = new[] { "fuzz" } }), "application/json"));
            using var response = await SendAsync(request, cancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(cancellationToken));
            account.NoteId = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
        }
        account.Cursor = await CursorAsync(caller, account, "/api/notes?limit=1", cancellationToken);
        account.SearchCursor = await CursorAsync(caller, account, "/api/notes?limit=1&q=fuzz", cancellationToken);
    }

    private async Task<string> CursorAsync(Caller caller, Account account, string url, CancellationToken cancellationToken)
    {
        using var request = Build(caller, account, new FuzzCase("seed", "GET", url, [], null, null));
        using var response = await SendAsync(request, cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(cancellationToken));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("nextCursor").GetString()!;
    }

    private async Task<Guid> RegisterAsync(string email, CancellationToken cancellationToken) =>
        (await PostJsonAsync("/api/auth/register", new { email, password = ApiClient.StrongPassword }, cancellationToken)).GetProperty("id").GetGuid();

    private async Task<JsonElement> PostJsonAsync(string url, object body, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync(url, body, cancellationToken);
        HarnessRequests++;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HarnessRequests++;
        return client.SendAsync(request, cancellationToken);
    }
}
