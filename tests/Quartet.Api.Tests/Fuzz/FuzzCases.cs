using System.Text;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>Who sends a request: nobody, a browser (session cookie and CSRF header), an API client (bearer token), an admin's browser.</summary>
internal enum Caller
{
    Anonymous,
    Session,
    Bearer,
    Admin,
}

/// <summary>A credential the case sets itself instead of the caller's own: a forged value, or null to leave it out.</summary>
internal sealed record Credential(string? Value);

/// <summary>One request: the caller's credentials are added when it is sent, unless the case overrides them.</summary>
internal sealed record FuzzCase(string Label, string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[]? Body, string? ContentType, Credential? Cookie = null, Credential? Csrf = null, Credential? Authorization = null)
{
    public bool OverridesCredentials => Cookie is not null || Csrf is not null || Authorization is not null;
}

/// <summary>
/// What the valid request of an operation is made of, for one caller: the ids of things that caller owns or
/// may act on, and real opaque values to tamper with. Values nobody needs stay at their defaults.
/// </summary>
internal sealed record FuzzSeeds
{
    public Guid NoteId { get; init; } = Guid.Parse("0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4b");
    public Guid OtherUserId { get; init; } = Guid.Parse("0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4c");
    public string LoginEmail { get; init; } = "fuzz-target@example.com";
    public string Password { get; init; } = ApiClient.StrongPassword;
    public string RefreshToken { get; init; } = new('A', 43);
    public string? Cursor { get; init; }
    public string? SearchCursor { get; init; }
    public string BearerToken { get; init; } = "a.b.c";
    public string JwtSecret { get; init; } = new('k', 64);
    public Guid UserId { get; init; } = Guid.Parse("0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4d");
}

/// <summary>
/// Turns one operation of the OpenAPI document into requests: the valid one (sent last, since it may delete or
/// disable what the others work on), then the same request with one part changed at a time. Every path, query
/// and header parameter and every body field gets the tables of <see cref="HostileValues"/> that fit its type;
/// the body as a whole, the content type, the common headers and the caller's credentials get theirs.
/// </summary>
internal static class FuzzCases
{
    private const string Json = "application/json";

    /// <summary>
    /// Callers of an operation, the first of which gets every case: an operation open to anyone is fuzzed in full
    /// anonymously, a signed-in one with the cookie and with a bearer token, an admin one as an admin. The others
    /// get the valid request, their credentials forged and a few malformed bodies.
    /// </summary>
    public static IReadOnlyList<(Caller Caller, bool Full)> CallersOf(ApiOperation operation) =>
        operation.Admin ? [(Caller.Admin, true), (Caller.Session, false), (Caller.Bearer, false), (Caller.Anonymous, false)]
        : operation.Anonymous ? [(Caller.Anonymous, true), (Caller.Session, false), (Caller.Bearer, false)]
        : [(Caller.Session, true), (Caller.Bearer, true), (Caller.Anonymous, false)];

    public static List<FuzzCase> For(ApiOperation operation, Caller caller, bool full, FuzzSeeds seeds)
    {
        var valid = Shape.Valid(operation, seeds);
        var cases = new List<FuzzCase>();
        void Add(string label, Shape shape) => cases.Add(shape.ToCase(operation, label));

        if (full)
        {
            foreach (var parameter in operation.Parameters)
            {
                foreach (var value in ValuesFor(parameter, seeds))
                {
                    Add($"{Where(parameter)} {parameter.Name} = {value.Label}", valid.With(parameter, value.Value));
                }
                if (parameter.In == ParameterLocation.Query)
                {
                    Add($"query {parameter.Name} twice", valid with { Query = [.. valid.Query, new(parameter.Name, "1"), new(parameter.Name, "2")] });
                }
                if (parameter.In == ParameterLocation.Header)
                {
                    Add($"header {parameter.Name} twice", valid with { Headers = [.. valid.Headers, new(parameter.Name, "\"1\""), new(parameter.Name, "\"2\"")] });
                }
                if (parameter.In != ParameterLocation.Path && parameter.Required)
                {
                    Add($"{Where(parameter)} {parameter.Name} left out", valid.With(parameter, null));
                }
            }
            // Optional parameters are left out of the valid request; here each is set to a valid value, twice (an
            // Idempotency-Key's second request is a replay), then with another body (for that key, 422).
            foreach (var parameter in operation.Parameters.Where(p => p.In != ParameterLocation.Path && ValidValue(operation, p, seeds) is null))
            {
                var set = valid.With(parameter, OptionalValue(parameter, seeds));
                Add($"{Where(parameter)} {parameter.Name} = a valid value", set);
                Add($"{Where(parameter)} {parameter.Name} = a valid value, again", set);
                if (operation.Body?.FirstOrDefault(f => f.Type == "string") is { } text)
                {
                    Add($"{Where(parameter)} {parameter.Name} = a valid value, with another body", set.WithField(text.Name, HostileValues.JsonString("fuzz other")));
                }
            }
            foreach (var field in operation.Body ?? [])
            {
                foreach (var (label, json) in FieldValues(field))
                {
                    Add($"body {field.Name} = {label}", valid.WithField(field.Name, json));
                }
                Add($"body {field.Name} left out", valid.WithField(field.Name, null));
                var bad = Encoding.ASCII.GetBytes("123");
                Add($"body {field.Name} twice, the second a number", valid with { Fields = [.. valid.Fields!, new(field.Name, bad)] });
                Add($"body {field.Name} twice, the first a number", valid with { Fields = [new(field.Name, bad), .. valid.Fields!] });
                var renamed = valid.Fields!.Select(f => f.Name == field.Name ? f with { Name = f.Name.ToUpperInvariant() } : f).ToList();
                Add($"body {field.Name} with its name in upper case", valid with { Fields = renamed });
            }
            foreach (var (label, body, contentType) in Bodies(valid))
            {
                Add(label, valid with { RawBody = body, ContentType = contentType, UseRawBody = true });
            }
            foreach (var (name, value) in CommonHeaders())
            {
                Add($"header {name} = {HostileValues.Show(value)}", valid with { Headers = [.. valid.Headers, new(name, value)] });
            }
            Add("method PATCH", valid with { Method = "PATCH" });
        }
        else
        {
            foreach (var (label, body, contentType) in Bodies(valid).Take(3))
            {
                Add(label, valid with { RawBody = body, ContentType = contentType, UseRawBody = true });
            }
        }

        foreach (var forged in ForgedCredentials(caller, seeds))
        {
            cases.Add(valid.ToCase(operation, forged.Label) with { Cookie = forged.Cookie, Csrf = forged.Csrf, Authorization = forged.Authorization });
        }
        Add("valid request", valid);
        return cases;
    }

    private static string Where(ApiParameter parameter) => parameter.In.ToString().ToLowerInvariant();

    private static IEnumerable<Hostile<string>> ValuesFor(ApiParameter parameter, FuzzSeeds seeds)
    {
        if (parameter.In == ParameterLocation.Header)
        {
            var table = parameter.Name switch
            {
                "If-Match" or "If-None-Match" => HostileValues.ETags,
                "Idempotency-Key" => HostileValues.IdempotencyKeys,
                _ => HostileValues.Strings.Where(s => !s.Value.Contains('\n', StringComparison.Ordinal)),
            };
            return table.Where(v => !v.Value.Contains('\r', StringComparison.Ordinal) && !v.Value.Contains('\n', StringComparison.Ordinal));
        }
        var encoded = parameter.Type switch
        {
            "integer" or "number" => HostileValues.Numbers,
            _ when parameter.Format == "uuid" => [.. HostileValues.Uuids, .. Text()],
            _ => Text(),
        };
        IEnumerable<Hostile<string>> extra = parameter.Name == "cursor"
            ? [.. Tampered(seeds.Cursor, "a cursor"), .. Tampered(seeds.SearchCursor, "a search cursor")]
            : [];
        // In a path, an empty segment routes elsewhere (the router's 404 says nothing about this operation), and a NUL
        // never reaches the app: Kestrel answers it with its own 400, and the test host refuses to build the request.
        return encoded.Concat(HostileValues.RawEncoded).Concat(extra)
            .Where(v => parameter.In != ParameterLocation.Path || (v.Value.Length > 0 && !v.Value.Contains("%00", StringComparison.Ordinal)));

        static IEnumerable<Hostile<string>> Text() => HostileValues.Strings.Select(s => new Hostile<string>(s.Label, HostileValues.Encode(s.Value)));

        static IEnumerable<Hostile<string>> Tampered(string? opaque, string what) =>
            opaque is null ? [] : HostileValues.Tampered(opaque).Select(t => new Hostile<string>($"{what}, {t.Label}", t.Value));
    }

    private static IEnumerable<(string Label, byte[] Json)> FieldValues(BodyField field)
    {
        foreach (var value in HostileValues.NonStrings.Where(v => field.Type != "array" || v.Value.StartsWith('[') == false))
        {
            yield return (value.Label, Encoding.ASCII.GetBytes(value.Value));
        }
        foreach (var value in HostileValues.Strings)
        {
            yield return ($"\"{value.Label}\"", HostileValues.JsonString(value.Value));
        }
        foreach (var value in HostileValues.NonUtf8Strings)
        {
            yield return ($"\"{value.Label}\"", value.Value);
        }
        if (field.Type == "array")
        {
            foreach (var value in HostileValues.Strings.Where(s => s.Value.Length < 1_000))
            {
                yield return ($"[\"{value.Label}\"]", [(byte)'[', .. HostileValues.JsonString(value.Value), (byte)']']);
            }
            yield return ("[] of 1,000 valid elements", Encoding.ASCII.GetBytes("[" + string.Join(',', Enumerable.Range(0, 1_000).Select(i => $"\"t{i}\"")) + "]"));
            yield return ("[[]] deep in an element", Encoding.ASCII.GetBytes("[" + new string('[', 60) + new string(']', 60) + "]"));
        }
    }

    /// <summary>The body as a whole: missing, empty, not an object, malformed, not UTF-8, too deep, too large, of another type.</summary>
    private static IEnumerable<(string Label, byte[]? Body, string? ContentType)> Bodies(Shape valid)
    {
        byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
        if (valid.BodyBytes() is not { } body)
        {
            yield return ("an unexpected JSON body", Ascii("{\"a\":1}"), Json);
            yield return ("an unexpected malformed body", Ascii("{"), Json);
            yield return ("an unexpected body over 1 MiB", Ascii("{\"a\":\"" + new string('x', 1_100_000) + "\"}"), Json);
            yield break;
        }
        yield return ("body left out", null, null);
        yield return ("body empty", [], Json);
        yield return ("body not closed", Ascii("{"), Json);
        yield return ("body null", Ascii("null"), Json);
        yield return ("body an array", Ascii("[]"), Json);
        yield return ("body a string", Ascii("\"x\""), Json);
        yield return ("body a number", Ascii("1e309"), Json);
        yield return ("body an empty object", Ascii("{}"), Json);
        yield return ("body with a trailing comma", [.. body[..^1], .. ","u8, .. "}"u8], Json);
        yield return ("body with a comment", [.. "/* x */"u8, .. body], Json);
        yield return ("body with single quotes", Ascii("{'a':'b'}"), Json);
        yield return ("body followed by garbage", [.. body, .. "garbage"u8], Json);
        yield return ("body with a byte order mark", [0xEF, 0xBB, 0xBF, .. body], Json);
        yield return ("body in UTF-16", Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(body)), Json + "; charset=utf-16");
        yield return ("body bytes 0xFF 0xFE", [0xFF, 0xFE, 0x00, 0x7B], Json);
        yield return ("body nested 10,000 deep", Ascii(new string('[', 10_000) + new string(']', 10_000)), Json);
        yield return ("body nested 70 objects deep", Ascii(string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70)), Json);
        yield return ("body with 20,000 unknown fields", Ascii("{" + string.Join(',', Enumerable.Range(0, 20_000).Select(i => $"\"f{i}\":{i}")) + "}"), Json);
        yield return ("body over 1 MiB", Ascii("{\"a\":\"" + new string('x', 1_100_000) + "\"}"), Json);
        yield return ("content type text/plain", body, "text/plain");
        yield return ("content type form", Ascii("email=a&password=b"), "application/x-www-form-urlencoded");
        yield return ("content type multipart", Ascii("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n"), "multipart/form-data; boundary=x");
        yield return ("content type XML", Ascii("<a/>"), "application/xml");
        yield return ("content type unknown charset", body, Json + "; charset=nonsense");
        yield return ("content type quoted charset", body, Json + "; charset=\"utf-8\"");
        yield return ("content type two charsets", body, Json + "; charset=utf-8; charset=utf-32");
        yield return ("content type problem+json", body, "application/problem+json");
        yield return ("content type malformed", body, "application/");
        yield return ("content type left out", body, null);
    }

    /// <summary>Headers every request may carry, set to what a client should not send.</summary>
    private static IEnumerable<(string Name, string Value)> CommonHeaders() =>
    [
        ("Accept", "text/html"),
        ("Accept", "application/xml"),
        ("Accept", "*/*;q=abc, application/json;q=2"),
        ("Accept-Language", "zz-ZZ;q=x"),
        ("X-Request-ID", new string('r', 5_000)),
        ("X-Request-ID", "a\u0001b"),
        ("traceparent", "00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-zzzzzzzzzzzzzzzz-01"),
        ("traceparent", "ff-" + new string('0', 5_000)),
        ("X-Forwarded-For", "not an address, 999.1.1.1, ::ffff:1.2.3.4, " + string.Join(", ", Enumerable.Repeat("10.0.0.1", 200))),
        ("X-Forwarded-Proto", "gopher"),
        ("User-Agent", new string('u', 10_000)),
        ("Cookie", "a=b; ; =; __Host-quartet_session; x=\"unterminated"),
        ("If-Modified-Since", "not a date"),
        ("Range", "bytes=99999999999999999999-"),
    ];

    private sealed record Forged(string Label, Credential? Cookie, Credential? Csrf, Credential? Authorization);

    /// <summary>The caller's own credential replaced by forged, malformed and missing ones.</summary>
    private static IEnumerable<Forged> ForgedCredentials(Caller caller, FuzzSeeds seeds)
    {
        switch (caller)
        {
            case Caller.Session or Caller.Admin:
                foreach (var cookie in HostileValues.Cookies)
                {
                    yield return new($"session cookie {cookie.Label}", new Credential(cookie.Value), null, null);
                }
                yield return new("no CSRF header", null, new Credential(null), null);
                foreach (var csrf in HostileValues.CsrfTokens)
                {
                    yield return new($"CSRF header {csrf.Label}", null, new Credential(csrf.Value), null);
                }
                break;
            case Caller.Bearer:
                foreach (var token in HostileValues.BearerTokens(seeds.BearerToken, seeds.JwtSecret, seeds.UserId))
                {
                    yield return new($"Authorization {token.Label}", null, null, new Credential(token.Value));
                }
                break;
            default:
                yield return new("a forged session cookie", new Credential("AAAAAAAAAAAAAAAAAAAAAA"), null, null);
                yield return new("a forged bearer token", null, null, new Credential("Bearer " + seeds.BearerToken[..^2]));
                break;
        }
    }

    private sealed record Field(string Name, byte[] Json);

    /// <summary>A request being put together: path, query and header values (encoded) and the body's fields.</summary>
    private sealed record Shape(string Method, IReadOnlyDictionary<string, string> Path, IReadOnlyList<KeyValuePair<string, string>> Query,
        IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<Field>? Fields, byte[]? RawBody = null, string? ContentType = Json,
        bool UseRawBody = false)
    {
        public static Shape Valid(ApiOperation operation, FuzzSeeds seeds)
        {
            var path = new Dictionary<string, string>();
            var query = new List<KeyValuePair<string, string>>();
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var parameter in operation.Parameters)
            {
                var value = ValidValue(operation, parameter, seeds);
                switch (parameter.In)
                {
                    case ParameterLocation.Path:
                        path[parameter.Name] = value ?? "1";
                        break;
                    case ParameterLocation.Query when value is not null:
                        query.Add(new(parameter.Name, value));
                        break;
                    case ParameterLocation.Header when value is not null:
                        headers.Add(new(parameter.Name, value));
                        break;
                }
            }
            var fields = operation.Body?.Select(f => new Field(f.Name, ValidField(operation, f, seeds))).ToList();
            return new Shape(operation.Method, path, query, headers, fields, ContentType: fields is null ? null : Json);
        }

        public Shape With(ApiParameter parameter, string? value) => parameter.In switch
        {
            ParameterLocation.Path => this with { Path = new Dictionary<string, string>(Path) { [parameter.Name] = value! } },
            ParameterLocation.Query => this with
            {
                Query = [.. Query.Where(q => q.Key != parameter.Name), .. value is null ? [] : new[] { new KeyValuePair<string, string>(parameter.Name, value) }],
            },
            _ => this with
            {
                Headers = [.. Headers.Where(h => h.Key != parameter.Name), .. value is null ? [] : new[] { new KeyValuePair<string, string>(parameter.Name, value) }],
            },
        };

        public Shape WithField(string name, byte[]? json) => this with
        {
            Fields = [.. Fields!.Select(f => f.Name == name && json is not null ? f with { Json = json } : f).Where(f => f.Name != name || json is not null)],
        };

        public byte[]? BodyBytes()
        {
            if (Fields is null)
            {
                return null;
            }
            var body = new List<byte> { (byte)'{' };
            for (var i = 0; i < Fields.Count; i++)
            {
                if (i > 0)
                {
                    body.Add((byte)',');
                }
                body.AddRange(HostileValues.JsonString(Fields[i].Name));
                body.Add((byte)':');
                body.AddRange(Fields[i].Json);
            }
            body.Add((byte)'}');
            return [.. body];
        }

        public FuzzCase ToCase(ApiOperation operation, string label)
        {
            var path = operation.Path;
            foreach (var (name, value) in Path)
            {
                path = path.Replace("{" + name + "}", value, StringComparison.Ordinal);
            }
            var query = Query.Count == 0 ? "" : "?" + string.Join('&', Query.Select(q => $"{q.Key}={q.Value}"));
            return UseRawBody
                ? new FuzzCase(label, Method, path + query, Headers, RawBody, ContentType)
                : new FuzzCase(label, Method, path + query, Headers, BodyBytes(), Fields is null ? null : Json);
        }
    }

    private static string? ValidValue(ApiOperation operation, ApiParameter parameter, FuzzSeeds seeds) => parameter switch
    {
        { In: ParameterLocation.Path, Format: "uuid" } when operation.Path.StartsWith("/api/notes", StringComparison.Ordinal) => seeds.NoteId.ToString(),
        { In: ParameterLocation.Path, Format: "uuid" } when operation.Admin => seeds.OtherUserId.ToString(),
        { In: ParameterLocation.Path, Format: "uuid" } => Guid.Empty.ToString(),
        { In: ParameterLocation.Path, Type: "integer" } => "1",
        { In: ParameterLocation.Path } => new string('a', 64),
        { Name: "If-Match" } => "*",
        { Required: true, Type: "integer" or "number" } => "1",
        { Required: true } => "fuzz",
        _ => null,
    };

    private static string OptionalValue(ApiParameter parameter, FuzzSeeds seeds) => parameter.Name switch
    {
        "Idempotency-Key" => "fuzz-key-1",
        "If-None-Match" => "\"1\"",
        "cursor" => seeds.Cursor ?? "",
        "page" => "2",
        _ => parameter.Type is "integer" or "number" ? "1" : "fuzz",
    };

    private static byte[] ValidField(ApiOperation operation, BodyField field, FuzzSeeds seeds) => field.Name switch
    {
        "email" when operation.Path.EndsWith("/register", StringComparison.Ordinal) => HostileValues.JsonString("fuzz-new@example.com"),
        "email" when operation.Path.StartsWith("/api/account", StringComparison.Ordinal) => HostileValues.JsonString("fuzz-moved@example.com"),
        "email" => HostileValues.JsonString(seeds.LoginEmail),
        "password" or "currentPassword" => HostileValues.JsonString(seeds.Password),
        "newPassword" => HostileValues.JsonString("another strong passphrase"),
        "refreshToken" => HostileValues.JsonString(seeds.RefreshToken),
        "token" => HostileValues.JsonString(System.Buffers.Text.Base64Url.EncodeToString(new byte[32])),
        _ => field.Type switch
        {
            "integer" or "number" => "1"u8.ToArray(),
            "boolean" => "true"u8.ToArray(),
            "array" => field.ItemsType == "string" ? "[\"fuzz\"]"u8.ToArray() : "[]"u8.ToArray(),
            "object" => "{}"u8.ToArray(),
            _ => HostileValues.JsonString("fuzz"),
        },
    };
}
