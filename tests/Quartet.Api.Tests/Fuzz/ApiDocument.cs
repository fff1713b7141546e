using System.Text.Json;

namespace Quartet.Api.Tests.Fuzz;

internal enum ParameterLocation
{
    Path,
    Query,
    Header,
}

/// <summary>A path, query or header parameter as docs/openapi.json describes it.</summary>
internal sealed record ApiParameter(string Name, ParameterLocation In, string Type, string? Format, bool Required);

/// <summary>A top-level field of a JSON request body. <see cref="ItemsType"/> is the element type of an array.</summary>
internal sealed record BodyField(string Name, string Type, string? Format, string? ItemsType, bool Required);

/// <summary>
/// One operation of the API. <see cref="Anonymous"/>: it declares no security requirement; <see cref="Admin"/>: it
/// belongs to the admin area (tag Admin).
/// </summary>
internal sealed record ApiOperation(string Method, string Path, string Id, IReadOnlyList<ApiParameter> Parameters,
    IReadOnlyList<BodyField>? Body, bool Anonymous, bool Admin)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>Reads the committed OpenAPI document, so every operation it lists is fuzzed, new ones included.</summary>
internal static class ApiDocument
{
    public static readonly string FilePath = Path.Combine(TestPaths.Repository, "docs", "openapi.json");

    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    public static IReadOnlyList<ApiOperation> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(FilePath));
        var root = document.RootElement;
        var schemas = root.GetProperty("components").GetProperty("schemas");
        var operations = new List<ApiOperation>();
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in Methods)
            {
                if (!path.Value.TryGetProperty(method, out var operation))
                {
                    continue;
                }
                var parameters = new List<ApiParameter>();
                if (operation.TryGetProperty("parameters", out var list))
                {
                    foreach (var p in list.EnumerateArray())
                    {
                        var schema = p.TryGetProperty("schema", out var s) ? s : default;
                        parameters.Add(new ApiParameter(p.GetProperty("name").GetString()!,
                            Enum.Parse<ParameterLocation>(p.GetProperty("in").GetString()!, ignoreCase: true),
                            TypeOf(schema, schemas), FormatOf(schema),
                            p.TryGetProperty("required", out var required) && required.GetBoolean()));
                    }
                }
                var tags = operation.TryGetProperty("tags", out var t) ? t.EnumerateArray().Select(e => e.GetString()).ToList() : [];
                var anonymous = !operation.TryGetProperty("security", out var security) || security.GetArrayLength() == 0;
                operations.Add(new ApiOperation(method.ToUpperInvariant(), path.Name,
                    operation.TryGetProperty("operationId", out var id) ? id.GetString()! : $"{method} {path.Name}",
                    parameters, BodyOf(operation, schemas), anonymous,
                    tags.Contains("Admin") || path.Name.StartsWith("/api/admin/", StringComparison.Ordinal)));
            }
        }
        return operations;
    }

    private static IReadOnlyList<BodyField>? BodyOf(JsonElement operation, JsonElement schemas)
    {
        if (!operation.TryGetProperty("requestBody", out var body)
            || !body.GetProperty("content").TryGetProperty("application/json", out var json)
            || !json.TryGetProperty("schema", out var schema))
        {
            return null;
        }
        schema = Resolve(schema, schemas);
        var required = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()).ToHashSet() : [];
        var fields = new List<BodyField>();
        if (schema.TryGetProperty("properties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                var items = property.Value.TryGetProperty("items", out var i) ? TypeOf(i, schemas) : null;
                fields.Add(new BodyField(property.Name, TypeOf(property.Value, schemas), FormatOf(property.Value), items,
                    required.Contains(property.Name)));
            }
        }
        return fields;
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas) =>
        schema.TryGetProperty("$ref", out var reference)
            ? schemas.GetProperty(reference.GetString()!["#/components/schemas/".Length..])
            : schema;

    /// <summary>The type of the schema (a $ref followed) without "null": OpenAPI 3.1 writes a nullable string as ["null", "string"].</summary>
    private static string TypeOf(JsonElement schema, JsonElement schemas)
    {
        schema = schema.ValueKind == JsonValueKind.Object ? Resolve(schema, schemas) : schema;
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return "string";
        }
        if (!schema.TryGetProperty("type", out var type))
        {
            return "object";
        }
        return type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Select(e => e.GetString()!).FirstOrDefault(n => n != "null") ?? "null"
            : type.GetString()!;
    }

    private static string? FormatOf(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("format", out var format) ? format.GetString() : null;
}
