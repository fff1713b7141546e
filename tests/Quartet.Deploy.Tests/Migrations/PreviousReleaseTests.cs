using System.Net;
using System.Net.Http.Json;
using Quartet.Deploy.Tests.Compose;

namespace Quartet.Deploy.Tests.Migrations;

/// <summary>
/// Expand/contract, run (decision 0029): during a rolling upgrade the previous release keeps serving
/// on the schema this checkout's migrate made, next to the new release. What a user of either does
/// works on both, and each sees what the other wrote.
/// </summary>
[Trait("Category", "Migrations")]
public sealed class PreviousReleaseTests(PreviousReleaseFixture fixture) : IClassFixture<PreviousReleaseFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static TheoryData<string> Releases => ["previous", "current"];

    private BackendServer Backend(string release) => release == "previous" ? fixture.Previous : fixture.Current;

    [Theory]
    [MemberData(nameof(Releases))]
    public async Task IsReadyOnTheNewSchema(string release)
    {
        using var client = new HttpClient { BaseAddress = Backend(release).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        // Readiness counts this binary's own migrations only: files newer than it are no reason to stop serving.
        var (status, body) = (HttpStatusCode.ServiceUnavailable, "");
        for (var attempt = 0; attempt < 60 && status != HttpStatusCode.OK; attempt++)
        {
            using var response = await client.GetAsync("/health/ready", Cancellation);
            (status, body) = (response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation));
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(500, Cancellation);
            }
        }

        Assert.True(status == HttpStatusCode.OK, $"the {release} release is not ready on the new schema: {(int)status} {body}");
        Assert.Contains("\"schema\":\"current\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Releases))]
    public async Task AUserRegistersLogsInAndKeepsNotes(string release)
    {
        using var keeper = new CookieKeeper();
        using var client = new HttpClient(keeper) { BaseAddress = Backend(release).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var email = ApiClient.NewEmail(release);
        await client.RegisterAsync(email);
        await client.LoginAsync(email);

        using (var me = await client.GetAsync("/api/auth/me", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Contains(email, await me.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        }
        var note = await client.CreateNoteAsync("Written during the upgrade", "by the " + release + " release", ["upgrade"]);
        Assert.Contains(note.Id, (await client.AllPagesAsync("limit=50")).Ids());
        using (var read = await client.GetAsync($"/api/notes/{note.Id}", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Equal(note.ETag, read.Headers.ETag?.ToString());
        }
        using var updated = await client.PutNoteAsync(note.Id, new { title = "Edited during the upgrade", body = "still there", tags = new[] { "upgrade" } }, note.ETag);
        Assert.True(updated.StatusCode == HttpStatusCode.OK, await updated.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal("Edited during the upgrade", (await updated.JsonAsync()).RootElement.GetProperty("title").GetString());
        using var deleted = await client.DeleteNoteAsync(note.Id, updated.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await client.GetAsync($"/api/notes/{note.Id}", Cancellation);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Releases))]
    public async Task AnApiClientUsesAndRefreshesItsTokens(string release)
    {
        using var client = new HttpClient { BaseAddress = Backend(release).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var email = ApiClient.NewEmail(release + "-api");
        await client.RegisterAsync(email);
        var (access, refresh) = await client.TokenAsync(email);

        using (var create = new HttpRequestMessage(HttpMethod.Post, "/api/notes") { Content = JsonContent.Create(new { title = "by token", body = "" }) })
        using (var created = await client.SendAsync(create.WithBearer(access), Cancellation))
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync(Cancellation));
        }
        using var refreshed = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = refresh }, Cancellation);
        Assert.True(refreshed.StatusCode == HttpStatusCode.OK, await refreshed.Content.ReadAsStringAsync(Cancellation));
        var next = (await refreshed.JsonAsync()).RootElement.GetProperty("accessToken").GetString()!;
        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/notes?limit=10");
        using var listed = await client.SendAsync(list.WithBearer(next), Cancellation);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Contains("by token", await listed.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("previous", "current")]
    [InlineData("current", "previous")]
    public async Task ASessionAndItsNotesCarryOverBetweenTheReleases(string first, string second)
    {
        // A load balancer sends one user's requests to replicas of both releases while the upgrade rolls.
        using var keeper = new CookieKeeper();
        using var one = new HttpClient(keeper, disposeHandler: false) { BaseAddress = Backend(first).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var two = new HttpClient(keeper, disposeHandler: false) { BaseAddress = Backend(second).BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var csrf = await one.LoginAsync(await RegisteredAsync(one));
        two.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        var note = await one.CreateNoteAsync($"Written by the {first} release");

        using (var read = await two.GetAsync($"/api/notes/{note.Id}", Cancellation))
        {
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"the {second} release does not take the {first} release's session or note: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync(Cancellation)}");
        }
        using var updated = await two.PutNoteAsync(note.Id, new { title = $"Edited by the {second} release", body = "", tags = Array.Empty<string>() }, note.ETag);
        Assert.True(updated.StatusCode == HttpStatusCode.OK, await updated.Content.ReadAsStringAsync(Cancellation));
        using (var reread = await one.GetAsync($"/api/notes/{note.Id}", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, reread.StatusCode);
            Assert.Equal($"Edited by the {second} release", (await reread.JsonAsync()).RootElement.GetProperty("title").GetString());
        }
        using var deleted = await one.DeleteNoteAsync(note.Id, updated.Headers.ETag!.ToString());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await two.GetAsync($"/api/notes/{note.Id}", Cancellation);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private static async Task<string> RegisteredAsync(HttpClient client)
    {
        var email = ApiClient.NewEmail("rolling");
        await client.RegisterAsync(email);
        return email;
    }
}
