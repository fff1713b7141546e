using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Quartet.Api.Tests.Features.Notes;

public sealed class NotesValidationTests(SharedStack shared) : ApiTest(shared, signIn: true)
{
    private Task<long> CountAsync() => Factory.Stack.ScalarAsync<long>(Factory.Database, "SELECT count(*) FROM notes");

    public static TheoryData<string, string> InvalidNotes => new()
    {
        { """{"title": ""}""", "title" },
        { """{"title": "   "}""", "title" },
        { $$"""{"title": "{{new string('t', 201)}}"}""", "title" },
        { $$"""{"title": "ok", "body": "{{new string('b', 100_001)}}"}""", "body" },
        { """{"title": "ok", "tags": ["1","2","3","4","5","6","7","8","9","10","11"]}""", "tags" },
        { $$"""{"title": "ok", "tags": ["{{new string('g', 33)}}"]}""", "tags[0]" },
        { """{"title": "ok", "tags": ["fine", "has space"]}""", "tags[1]" },
        { """{"title": "ok", "tags": [""]}""", "tags[0]" },
        { """{"title": "nul \u0000 inside"}""", "title" },
        { """{"title": "ok", "body": "nul \u0000 inside"}""", "body" },
        { """{"title": "ok", "tags": ["a\u0000b"]}""", "tags[0]" },
    };

    [Theory]
    [MemberData(nameof(InvalidNotes))]
    public async Task EveryLimitIsA400WithTheFieldNamedAndNothingIsStored(string json, string field)
    {
        var before = await CountAsync();

        using var response = await Client.PostAsync("/api/notes", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task TheLimitsThemselvesAreAccepted()
    {
        var note = await Client.CreateNoteAsync(new string('t', 200), new string('b', 100_000), [.. Enumerable.Range(0, 10).Select(i => new string((char)('a' + i), 32))]);

        Assert.Equal(10, note.Body.GetProperty("tags").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"title": "x", """)]
    [InlineData("""{"title": 5}""")]
    [InlineData("""{"title": "x", "tags": "not-an-array"}""")]
    [InlineData("""[1, 2, 3]""")]
    public async Task MalformedJsonOrWrongTypesAre400AndStoreNothing(string json)
    {
        var before = await CountAsync();

        using var response = await Client.PostAsync("/api/notes", new StringContent(json, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:bad-request");
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task AnUpdateThatBreaksALimitChangesNothing()
    {
        var note = await Client.CreateNoteAsync("keep me");

        using var response = await Client.PutNoteAsync(note.Id, new { title = new string('x', 201) }, note.ETag);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");
        using var after = await Client.GetAsync($"/api/notes/{note.Id}");
        Assert.Equal(note.ETag, after.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task ABodyAboveTheConfiguredSizeIs413()
    {
        await using var small = Factory.Replica(settings: new Dictionary<string, string?> { ["Http:MaxRequestBodyBytes"] = "4096" });
        using var client = small.CreateHttpsClient();
        await client.RegisterAndLoginAsync();
        var before = await CountAsync();

        using var response = await client.PostAsJsonAsync("/api/notes", new { title = "big", body = new string('b', 5000) });

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "urn:quartet:problem:payload-too-large");
        Assert.Equal(before, await CountAsync());
    }

    [Theory]
    [InlineData("q=a%00b", "q")]
    [InlineData("tag=a%00b", "tag")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("cursor=garbage", "cursor")]
    public async Task BadListParametersAre400(string query, string field)
    {
        var problem = await (await Client.GetAsync("/api/notes?" + query)).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:validation");

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task ALimitThatIsNotANumberIs400()
    {
        await (await Client.GetAsync("/api/notes?limit=ten")).AssertProblemAsync(HttpStatusCode.BadRequest, "urn:quartet:problem:bad-request");
    }
}
