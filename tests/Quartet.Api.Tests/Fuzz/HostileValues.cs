using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>A labelled value from one of the tables below.</summary>
internal sealed record Hostile<T>(string Label, T Value);

/// <summary>
/// The hand-made tables of hostile values the fuzz suite sends. Fixed and ordered: a run sends the same
/// requests every time, so a failure found once is found again.
/// </summary>
internal static class HostileValues
{
    /// <summary>Text: empty, blank, over-long, control characters, NUL, lone surrogates, other scripts, injection shapes.</summary>
    public static readonly IReadOnlyList<Hostile<string>> Strings =
    [
        new("empty", ""),
        new("blank", "   "),
        new("tab and newline", "\t\n"),
        new("one character", "a"),
        new("255 characters", new string('a', 255)),
        new("256 characters", new string('a', 256)),
        new("5,000 characters", new string('x', 5_000)),
        new("100,001 characters", new string('x', 100_001)),
        new("NUL", "\0"),
        new("NUL inside", "a\0b"),
        new("C0 and DEL controls", "\u0001\u001b\u001f\u007f"),
        new("C1 control", "\u0085\u009f"),
        new("CR LF", "a\r\nb"),
        new("line and paragraph separators", "\u2028\u2029"),
        new("byte order mark", "\uFEFF"),
        new("lone high surrogate", "a\uD800b"),
        new("lone low surrogate", "\uDC00"),
        new("surrogates reversed", "\uDE00\uD83D"),
        new("emoji", "\U0001F600"),
        new("right-to-left override", "\u202Eabc"),
        new("non-Latin", "日本語 ключ"),
        new("combining marks", "e\u0301\u0301\u0301\u0301"),
        new("noncharacter", "\uFFFF\uFFFE"),
        new("SQL", "' OR 1=1; DROP TABLE users; --"),
        new("LIKE wildcards", "%_%\\"),
        new("format string", "%s%n%x{0}${x}"),
        new("markup", "<script>alert(1)</script>"),
        new("path traversal", "../../../etc/passwd"),
        new("number text", "-9223372036854775809"),
        new("JSON text", "{\"a\":[1,2]}"),
        new("full-text operators", "\"a\" OR -b & !c | d:* <-> (e"),
    ];

    /// <summary>Raw JSON that is not a string: every other type, numbers beyond every limit, deep nesting.</summary>
    public static readonly IReadOnlyList<Hostile<string>> NonStrings =
    [
        new("null", "null"),
        new("true", "true"),
        new("zero", "0"),
        new("-1", "-1"),
        new("int32 max + 1", "2147483648"),
        new("int64 min - 1", "-9223372036854775809"),
        new("uint64 max + 1", "18446744073709551616"),
        new("double max", "1.7976931348623157e308"),
        new("beyond double", "1e309"),
        new("smallest double", "4.9e-324"),
        new("negative zero", "-0.0"),
        new("fraction", "1.5"),
        new("empty object", "{}"),
        new("object", "{\"a\":\"b\"}"),
        new("empty array", "[]"),
        new("array of strings", "[\"a\",\"b\"]"),
        new("array of nulls", "[null]"),
        new("array of numbers", "[1,2]"),
        new("nested arrays", "[[\"a\"]]"),
        new("arrays nested 100 deep", new string('[', 100) + new string(']', 100)),
        new("objects nested 100 deep", string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100)),
        new("10,000 elements", "[" + string.Join(',', Enumerable.Repeat("\"a\"", 10_000)) + "]"),
    ];

    /// <summary>JSON string literals whose bytes are not UTF-8 (they go into the body as they are).</summary>
    public static readonly IReadOnlyList<Hostile<byte[]>> NonUtf8Strings =
    [
        new("byte 0xFF", [(byte)'"', 0x61, 0xFF, 0x62, (byte)'"']),
        new("overlong NUL", [(byte)'"', 0xC0, 0x80, (byte)'"']),
        new("UTF-8 encoded surrogate", [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"']),
        new("truncated sequence", [(byte)'"', 0xE6, 0x97, (byte)'"']),
        new("Latin-1 e-acute", [(byte)'"', 0xE9, (byte)'"']),
    ];

    /// <summary>Integers and numbers as text (query strings, path segments, headers), at and beyond each type's limits.</summary>
    public static readonly IReadOnlyList<Hostile<string>> Numbers =
    [
        new("zero", "0"),
        new("-1", "-1"),
        new("one", "1"),
        new("int32 max", "2147483647"),
        new("int32 max + 1", "2147483648"),
        new("int32 min", "-2147483648"),
        new("int32 min - 1", "-2147483649"),
        new("uint32 max + 1", "4294967296"),
        new("int64 max", "9223372036854775807"),
        new("int64 max + 1", "9223372036854775808"),
        new("int64 min", "-9223372036854775808"),
        new("int64 min - 1", "-9223372036854775809"),
        new("30 digits", "999999999999999999999999999999"),
        new("double max", "1.7976931348623157e308"),
        new("beyond double", "1e309"),
        new("fraction", "1.5"),
        new("exponent", "1e3"),
        new("negative zero", "-0"),
        new("plus sign", "+1"),
        new("leading zeros", "007"),
        new("hexadecimal", "0x10"),
        new("NaN", "NaN"),
        new("Infinity", "Infinity"),
        new("thousands separator", "1,000"),
        new("leading space", "%201"),
        new("full-width digit", Uri.EscapeDataString("１")),
        new("Arabic-Indic digit", Uri.EscapeDataString("٣")),
        new("word", "abc"),
        new("empty", ""),
    ];

    /// <summary>Percent-encoded path and query values that no string table can produce: bytes that are not UTF-8, stray escapes.</summary>
    public static readonly IReadOnlyList<Hostile<string>> RawEncoded =
    [
        new("%00", "%00"),
        new("%FF", "%FF"),
        new("overlong slash", "%C0%AF"),
        new("UTF-8 encoded surrogate", "%ED%A0%80"),
        new("stray percent", "%"),
        new("bad escape", "%G1"),
        new("encoded slash", "a%2Fb"),
        new("dot dot", ".."),
        new("encoded dot dot", "%2E%2E"),
        new("encoded CR LF", "a%0D%0Ab"),
    ];

    /// <summary>Identifiers shaped almost like a UUID, and the UUIDs nobody has.</summary>
    public static readonly IReadOnlyList<Hostile<string>> Uuids =
    [
        new("nil UUID", "00000000-0000-0000-0000-000000000000"),
        new("max UUID", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
        new("upper case", "0193D9E8-7F2A-7C4B-9B5E-3A6E2F1C0D4B"),
        new("no dashes", "0193d9e87f2a7c4b9b5e3a6e2f1c0d4b"),
        new("braces", "%7B0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4b%7D"),
        new("one character short", "0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4"),
        new("one character long", "0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4bb"),
        new("not hex", "0193d9e8-7f2a-7c4b-9b5e-3a6e2f1c0d4g"),
        new("hex list", "%7B0x00000000%2C0x0000%2C0x0000%2C%7B0x00%2C0x00%2C0x00%2C0x00%2C0x00%2C0x00%2C0x00%2C0x00%7D%7D"),
    ];

    /// <summary>If-Match and If-None-Match values: forged, malformed and out-of-range entity tags.</summary>
    public static readonly IReadOnlyList<Hostile<string>> ETags =
    [
        new("star", "*"),
        new("quoted one", "\"1\""),
        new("weak", "W/\"1\""),
        new("unquoted", "1"),
        new("opening quote only", "\"1"),
        new("lone quote", "\""),
        new("empty tag", "\"\""),
        new("negative", "\"-1\""),
        new("zero", "\"0\""),
        new("int32 max", "\"2147483647\""),
        new("int32 max + 1", "\"2147483648\""),
        new("30 digits", "\"999999999999999999999999999999\""),
        new("hexadecimal", "\"0x1\""),
        new("space inside", "\" 1\""),
        new("two tags", "\"1\", \"2\""),
        new("tag and garbage", "\"1\", garbage"),
        new("star and tag", "*, \"1\""),
        new("1,000 tags", string.Join(", ", Enumerable.Range(0, 1_000).Select(i => $"\"{i}\""))),
        new("non-ASCII", "\"é\""),
        new("blank", " "),
    ];

    /// <summary>Session cookie values: wrong lengths, forged values of the right shape, other alphabets.</summary>
    public static readonly IReadOnlyList<Hostile<string>> Cookies =
    [
        new("empty", ""),
        new("15 characters", "AAAAAAAAAAAAAAA"),
        new("forged 128 bits", "AAAAAAAAAAAAAAAAAAAAAA"),
        new("65 characters", new string('A', 65)),
        new("4,000 characters", new string('A', 4_000)),
        new("not base64url", "!!!!!!!!!!!!!!!!!!!!!!"),
        new("non-ASCII", "ééééééééééééééééééééééé"),
    ];

    /// <summary>X-CSRF-Token values: forged, over-long, other alphabets.</summary>
    public static readonly IReadOnlyList<Hostile<string>> CsrfTokens =
    [
        new("empty", ""),
        new("forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        new("99 characters", new string('A', 99)),
        new("10,000 characters", new string('A', 10_000)),
        new("non-ASCII", "éééé"),
    ];

    /// <summary>Idempotency-Key values: at and over the limit, invisible and non-ASCII characters.</summary>
    public static readonly IReadOnlyList<Hostile<string>> IdempotencyKeys =
    [
        new("empty", ""),
        new("blank", " "),
        new("255 characters", new string('k', 255)),
        new("256 characters", new string('k', 256)),
        new("10,000 characters", new string('k', 10_000)),
        new("space inside", "a b"),
        new("tab inside", "a\tb"),
        new("non-ASCII", "ключ"),
        new("DEL", "a\u007f"),
        new("NUL", "a\0b"),
    ];

    /// <summary>Opaque tokens (refresh tokens, link tokens) of the right shape that nobody was given, and wrong shapes.</summary>
    public static IReadOnlyList<Hostile<string>> ForgedTokens() =>
    [
        new("forged 256 bits", Base64Url.EncodeToString(new byte[32])),
        new("43 characters, not base64url", new string('*', 43)),
        new("43 characters, 31 bytes", Base64Url.EncodeToString(new byte[31]) + "AA"),
        new("44 characters", Base64Url.EncodeToString(new byte[33])),
        new("padded base64", Convert.ToBase64String(new byte[32])),
        new("128 characters", new string('A', 128)),
        new("129 characters", new string('A', 129)),
    ];

    /// <summary>An opaque value decoded, each of its '|' parts replaced by a hostile number or text, encoded again.</summary>
    public static IEnumerable<Hostile<string>> Tampered(string opaque)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(opaque));
        }
        catch (FormatException)
        {
            yield break;
        }
        var parts = decoded.Split('|');
        string[] replacements = ["", "-1", "9223372036854775807", "-9223372036854775808", "922337203685477580", "99999999999999999999",
            "1e309", "NaN", "Infinity", "-Infinity", "3.4028235E+38", "1E-45", "00000000000000000000000000000000", "x"];
        for (var i = 0; i < parts.Length; i++)
        {
            foreach (var replacement in replacements)
            {
                var copy = (string[])parts.Clone();
                copy[i] = replacement;
                yield return new($"part {i} = {replacement}", Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('|', copy))));
            }
        }
        yield return new("one part more", Base64Url.EncodeToString(Encoding.UTF8.GetBytes(decoded + "|x")));
        yield return new("one part less", Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('|', parts[..^1]))));
        yield return new("not UTF-8", Base64Url.EncodeToString([0xFF, 0xFE, 0x7C, 0xC0]));
        yield return new("padded", Convert.ToBase64String(Encoding.UTF8.GetBytes(decoded)));
        yield return new("one character cut", opaque[..^1]);
    }

    /// <summary>
    /// Bearer tokens: none, malformed, unsigned (alg none), with another algorithm, re-signed with a wrong key,
    /// and correctly signed ones whose claims are missing or beyond their types' limits.
    /// </summary>
    public static IReadOnlyList<Hostile<string>> BearerTokens(string realToken, string jwtSecret, Guid userId)
    {
        var parts = realToken.Split('.');
        string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        string Sign(string header, string payload, string key)
        {
            var input = Encode(header) + "." + Encode(payload);
            var signature = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(input));
            return input + "." + Base64Url.EncodeToString(signature);
        }
        const string Hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string Claims(string sub, string iat, string exp) =>
            $"{{\"iss\":\"quartet\",\"aud\":\"quartet-api\",\"sub\":{sub},\"email\":\"a@example.com\",\"role\":\"user\",\"iat\":{iat},\"exp\":{exp}}}";
        var id = $"\"{userId}\"";
        var fresh = now.ToString(CultureInfo.InvariantCulture);
        var later = (now + 600).ToString(CultureInfo.InvariantCulture);
        return
        [
            new("scheme only", "Bearer"),
            new("empty token", "Bearer "),
            new("one word", "Bearer x"),
            new("three empty parts", "Bearer .."),
            new("not base64url", "Bearer !!!.!!!.!!!"),
            new("five parts", "Bearer a.b.c.d.e"),
            new("20,000 characters", "Bearer " + new string('A', 20_000)),
            new("non-ASCII", "Bearer éé.éé.éé"),
            new("signature cut", "Bearer " + realToken[..^2]),
            new("payload of another user", $"Bearer {parts[0]}.{Encode(Claims("\"00000000-0000-0000-0000-000000000000\"", fresh, later))}.{parts[2]}"),
            new("alg none", $"Bearer {Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}."),
            new("alg HS512", $"Bearer {Encode("{\"alg\":\"HS512\",\"typ\":\"JWT\"}")}.{parts[1]}.{parts[2]}"),
            new("header not JSON", $"Bearer {Encode("{")}.{parts[1]}.{parts[2]}"),
            new("wrong key", "Bearer " + Sign(Hs256, Claims(id, fresh, later), "not the key of this server, but long enough")),
            new("crit header", "Bearer " + Sign("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"x\"]}", Claims(id, fresh, later), jwtSecret)),
            new("sub not a UUID", "Bearer " + Sign(Hs256, Claims("\"admin\"", fresh, later), jwtSecret)),
            new("sub a number", "Bearer " + Sign(Hs256, Claims("1", fresh, later), jwtSecret)),
            new("iat int64 max", "Bearer " + Sign(Hs256, Claims(id, "9223372036854775807", later), jwtSecret)),
            new("iat beyond int64", "Bearer " + Sign(Hs256, Claims(id, "1e30", later), jwtSecret)),
            new("iat negative", "Bearer " + Sign(Hs256, Claims(id, "-9223372036854775808", later), jwtSecret)),
            new("iat a string", "Bearer " + Sign(Hs256, Claims(id, "\"now\"", later), jwtSecret)),
            new("exp int64 max", "Bearer " + Sign(Hs256, Claims(id, fresh, "9223372036854775807"), jwtSecret)),
            new("exp beyond double", "Bearer " + Sign(Hs256, Claims(id, fresh, "1e309"), jwtSecret)),
            new("exp a string", "Bearer " + Sign(Hs256, Claims(id, fresh, "\"later\""), jwtSecret)),
            new("payload an array", "Bearer " + Sign(Hs256, "[1]", jwtSecret)),
            new("Basic scheme", "Basic dXNlcjpwYXNzd29yZA=="),
        ];
    }

    /// <summary>A JSON string literal whose every non-ASCII UTF-16 unit is a \u escape, so lone surrogates travel as written.</summary>
    public static byte[] JsonString(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                < ' ' or > '~' => text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }
        return Encoding.ASCII.GetBytes(text.Append('"').ToString());
    }

    /// <summary>Percent-encodes text for a path segment or query value (UTF-8; a lone surrogate becomes U+FFFD).</summary>
    public static string Encode(string value) =>
        string.Concat(Encoding.UTF8.GetBytes(value).Select(b => char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~'
            ? ((char)b).ToString()
            : "%" + b.ToString("X2", CultureInfo.InvariantCulture)));

    /// <summary>A label fit for a failure message: short, with controls and non-ASCII shown as escapes.</summary>
    public static string Show(string value)
    {
        var shown = string.Concat(value.Take(40).Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString()));
        return value.Length > 40 ? $"{shown}... ({value.Length} chars)" : shown;
    }
}
