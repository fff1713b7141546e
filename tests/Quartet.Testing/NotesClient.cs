using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Quartet.Testing;

public sealed record CreatedNote(Guid Id, string ETag, JsonElement Body);

public static class NotesClient
{
    public static async Task<CreatedNote> CreateNoteAsync(this HttpClient client, string title, string body = "", string[]? tags = null)
    {
        using var response = await client.PostAsJsonAsync("/api/notes", new { title, body, tags = tags ?? [] });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var json = (await response.JsonAsync()).RootElement.Clone();
        return new CreatedNote(json.GetProperty("id").GetGuid(), response.Headers.ETag!.ToString(), json);
    }

    public static async Task<HttpResponseMessage> PutNoteAsync(this HttpClient client, Guid id, object body, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/notes/{id}") { Content = JsonContent.Create(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return await client.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> DeleteNoteAsync(this HttpClient client, Guid id, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/notes/{id}");
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return await client.SendAsync(request);
    }

    /// <summary>Every page of a listing, following nextCursor; bounded at 100 pages.</summary>
    public static async Task<List<JsonElement>> AllPagesAsync(this HttpClient client, string query, Func<int, Task>? betweenPages = null)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        for (var page = 0; page < 100; page++)
        {
            var url = "/api/notes?" + query + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var body = (await response.JsonAsync()).RootElement.Clone();
            items.AddRange(body.GetProperty("items").EnumerateArray());
            cursor = body.GetProperty("nextCursor").GetString();
            if (cursor is null)
            {
                return items;
            }
            if (betweenPages is not null)
            {
                await betweenPages(page);
            }
        }
        throw new InvalidOperationException("more than 100 pages");
    }

    public static IEnumerable<Guid> Ids(this IEnumerable<JsonElement> items) => items.Select(i => i.GetProperty("id").GetGuid());
}
