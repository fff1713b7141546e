using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>
/// What only a real socket can carry to Kestrel: bytes that are not UTF-8 (nor ASCII) in the request line and in
/// header values, a NUL in the path, headers past Kestrel's limits. HttpClient and the in-process test host refuse
/// to send these, so <see cref="OpenApiFuzzTests"/> cannot. No answer may be a 5xx, and every refusal the app itself
/// writes (it carries X-Request-ID) is problem+json.
/// </summary>
public sealed partial class RawRequestFuzzTests(SharedStack shared)
{
    private static readonly byte[] NotUtf8 = [0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80];

    private static IEnumerable<(string Label, byte[] Request)> Requests()
    {
        static byte[] Request(string method, byte[] target, params (string Name, byte[] Value)[] headers)
        {
            var bytes = new List<byte>();
            bytes.AddRange(Encoding.ASCII.GetBytes(method + " "));
            bytes.AddRange(target);
            bytes.AddRange(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"u8.ToArray());
            foreach (var (name, value) in headers)
            {
                bytes.AddRange(Encoding.ASCII.GetBytes(name + ": "));
                bytes.AddRange(value);
                bytes.AddRange("\r\n"u8.ToArray());
            }
            var body = method is "POST" or "PUT" ? "{}"u8.ToArray() : [];
            if (body.Length > 0)
            {
                bytes.AddRange("Content-Type: application/json\r\n"u8.ToArray());
            }
            bytes.AddRange(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
            bytes.AddRange(body);
            return [.. bytes];
        }
        static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
        byte[] utf8 = [0xC3, 0xA9];
        return new (string, byte[])[]
        {
            ("raw bytes in the path", Request("GET", [.. Ascii("/api/notes/"), .. NotUtf8])),
            ("raw bytes in the query", Request("GET", [.. Ascii("/api/notes?q="), .. NotUtf8])),
            ("raw UTF-8 in the path", Request("GET", [.. Ascii("/api/admin/users/"), .. utf8, .. Ascii("/disable")])),
            ("NUL in the path", Request("GET", Ascii("/api/notes/%00"))),
            ("NUL in the query", Request("GET", Ascii("/api/notes?q=%00&tag=%00&cursor=%00"))),
            ("raw bytes in a header", Request("GET", Ascii("/api/auth/me"), ("X-Anything", NotUtf8))),
            ("raw bytes in the cookie", Request("GET", Ascii("/api/auth/me"), ("Cookie", [.. Ascii("__Host-quartet_session="), .. NotUtf8]))),
            ("raw bytes in the bearer token", Request("GET", Ascii("/api/auth/me"), ("Authorization", [.. Ascii("Bearer "), .. NotUtf8]))),
            ("raw bytes in the CSRF header", Request("POST", Ascii("/api/auth/logout"), ("X-CSRF-Token", NotUtf8))),
            ("raw bytes in If-Match", Request("PUT", Ascii($"/api/notes/{Guid.Empty}"), ("If-Match", [(byte)'"', .. NotUtf8, (byte)'"']))),
            ("raw bytes in Idempotency-Key", Request("POST", Ascii("/api/notes"), ("Idempotency-Key", NotUtf8))),
            ("raw UTF-8 in Idempotency-Key", Request("POST", Ascii("/api/notes"), ("Idempotency-Key", utf8))),
            ("raw bytes in X-Request-ID", Request("GET", Ascii("/health/live"), ("X-Request-ID", NotUtf8))),
            ("raw bytes in X-Forwarded-For", Request("GET", Ascii("/api/auth/me"), ("X-Forwarded-For", NotUtf8))),
            ("raw bytes in the content type", Request("POST", Ascii("/api/auth/login"), ("Content-Type", [.. Ascii("application/json; charset="), .. NotUtf8]))),
            ("a header over 32 KB", Request("GET", Ascii("/api/auth/me"), ("X-Anything", Ascii(new string('a', 40_000))))),
            ("a target of 20,000 characters", Request("GET", Ascii("/api/notes?q=" + new string('a', 20_000)))),
        }.Select(r => (r.Item1, r.Item2));
    }

    [Fact]
    public async Task NoRawRequestGetsA5xxAndTheAppsOwnRefusalsAreProblems()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var stack = shared.Stack;
        await using var backend = await RunningBackend.StartNewAsync(BackendProcess.Environment(stack, await stack.CreateDatabaseAsync(), new TestSecrets(stack)));
        var failures = new List<string>();
        foreach (var (label, request) in Requests())
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", backend.Port, cancellationToken);
            var stream = socket.GetStream();
            await stream.WriteAsync(request, cancellationToken);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            var response = await reader.ReadToEndAsync(cancellationToken);

            var status = StatusLine().Match(response);
            var code = status.Success ? int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var fromApp = response.Contains("\r\nX-Request-ID:", StringComparison.OrdinalIgnoreCase);
            if (code is 0 or >= 500
                || (code >= 400 && fromApp && !response.Contains("\r\nContent-Type: application/problem+json", StringComparison.OrdinalIgnoreCase)))
            {
                failures.Add($"{label}: {response[..Math.Min(response.Length, 400)]}");
            }
            TestContext.Current.TestOutputHelper?.WriteLine($"{label}: {code}{(fromApp ? "" : " (Kestrel)")}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [GeneratedRegex(@"^HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();
}
