namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// Keeps the cookies the stack sets and sends them back, Secure ones included: the suite talks plain
/// http to the loopback port, where an HttpClient (or a browser) would hold a Secure
/// <c>__Host-</c> cookie back. The Set-Cookie lines are kept, so a test can check their attributes.
/// </summary>
public sealed class CookieKeeper : DelegatingHandler
{
    private readonly Dictionary<string, string> _cookies = [];
    private readonly Dictionary<string, string> _setCookie = [];

    public CookieKeeper() : base(new SocketsHttpHandler { UseCookies = false })
    {
    }

    /// <summary>The last Set-Cookie line for <paramref name="name"/>, or null.</summary>
    public string? SetCookie(string name)
    {
        lock (_cookies)
        {
            return _setCookie.GetValueOrDefault(name);
        }
    }

    public IReadOnlyCollection<string> Names
    {
        get
        {
            lock (_cookies)
            {
                return [.. _cookies.Keys];
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (_cookies)
        {
            if (_cookies.Count > 0)
            {
                request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
            }
        }
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var lines))
        {
            lock (_cookies)
            {
                foreach (var line in lines)
                {
                    var pair = line.Split(';')[0];
                    var equals = pair.IndexOf('=');
                    if (equals <= 0)
                    {
                        continue;
                    }
                    var (name, value) = (pair[..equals].Trim(), pair[(equals + 1)..].Trim());
                    _setCookie[name] = line;
                    if (value.Length == 0)
                    {
                        _cookies.Remove(name);
                    }
                    else
                    {
                        _cookies[name] = value;
                    }
                }
            }
        }
        return response;
    }
}
