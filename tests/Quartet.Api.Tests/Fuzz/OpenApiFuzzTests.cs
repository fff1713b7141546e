using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartet.Api.Infrastructure.Mail;
using Quartet.Api.Infrastructure.Passwords;

namespace Quartet.Api.Tests.Fuzz;

/// <summary>
/// Every operation of docs/openapi.json, sent the tables of hostile values of <see cref="HostileValues"/> one part
/// at a time, as every kind of caller (see docs/security.md, "Fuzzing"). No answer may be a 5xx; every 4xx is
/// problem+json that shows nothing of the server's insides; and a refused request changes no row of any table.
/// </summary>
public sealed class OpenApiFuzzTests(SharedStack shared)
{
    /// <summary>Words that only an exception's text or a stack trace would put in a response.</summary>
    private static readonly string[] Internals = ["   at ", "Exception", "Npgsql", "StackExchange", "System.", "Microsoft.", "PostgreSQL error", "ERR "];

    /// <summary>
    /// The suite must not trip the login throttles or the per-user write limits: at their defaults most requests
    /// would be 429 and reach nothing behind. Each is at the top of its range; a key a build does not have is ignored.
    /// </summary>
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Throttling:FailuresPerAccountAndIp"] = "10000",
        ["Throttling:FailuresPerIp"] = "100000",
        ["Throttling:FailuresPerAccount"] = "100000",
        ["Throttling:RegistrationsPerIp"] = "100000",
        ["WriteLimits:RequestsPerWindow"] = "1000000",
    };

    [Fact]
    public void EveryOperationInTheDocumentHasCasesForEachParameterAndBodyFieldAndCaller()
    {
        var operations = ApiDocument.Load();
        Assert.True(operations.Count >= 30, $"only {operations.Count} operations read from {ApiDocument.FilePath}");
        var total = 0;
        foreach (var operation in operations)
        {
            var callers = FuzzCases.CallersOf(operation);
            Assert.Contains(callers, c => c.Full);
            foreach (var (caller, full) in callers)
            {
                var cases = FuzzCases.For(operation, caller, full, new FuzzSeeds());
                total += cases.Count;
                Assert.True(cases.Count > 1, $"{operation} as {caller}: no cases");
                Assert.Equal("valid request", cases[^1].Label);
                if (!full)
                {
                    continue;
                }
                foreach (var parameter in operation.Parameters)
                {
                    Assert.True(cases.Count(c => c.Label.Contains($" {parameter.Name} = ", StringComparison.Ordinal)) >= 10,
                        $"{operation}: too few cases for {parameter.In} parameter {parameter.Name}");
                }
                foreach (var field in operation.Body ?? [])
                {
                    Assert.True(cases.Count(c => c.Label.StartsWith($"body {field.Name} ", StringComparison.Ordinal)) >= 40,
                        $"{operation}: too few cases for body field {field.Name}");
                }
            }
        }
        // The bound that keeps the suite within its time on CI; raise it knowingly.
        Assert.InRange(total, 1, 15_000);
    }

    [Fact]
    public async Task NoInputToAnyOperationGetsA5xxOrAnUnsafeProblemOrChangesTheDatabaseWhenRefused()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var quartet = await QuartetFactory.CreateAsync(shared.Stack, Settings);
        await using var factory = quartet.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            // The mail worker changes outbox rows on its own time; without it, a row changes only when a request changes it.
            foreach (var worker in services.Where(s => s.ServiceType == typeof(IHostedService) && s.ImplementationType == typeof(MailOutboxWorker)).ToList())
            {
                services.Remove(worker);
            }
            // Thousands of logins at 210,000 rounds would take minutes; the fuzz suite tests the input, not the hash.
            services.AddSingleton(new PasswordHashing(Options.Create(new PasswordHashingOptions { Iterations = 1_000 })));
        }));
        using var client = factory.CreateClient(new WebApplicationFactoryClientOptions
        {
            BaseAddress = new Uri("https://localhost"),
            AllowAutoRedirect = false,
            HandleCookies = false,
        });
        client.Timeout = TimeSpan.FromSeconds(30);
        var checksum = await DatabaseChecksum.CreateAsync(factory.Services.GetRequiredService<NpgsqlDataSource>(), cancellationToken);
        var callers = new FuzzCallers(client, quartet);
        var empty = await checksum.TakeAsync(cancellationToken);
        await callers.SetUpAsync(cancellationToken);
        Assert.Contains("users", DatabaseChecksum.Changed(empty, await checksum.TakeAsync(cancellationToken)));

        var failures = new List<string>();
        var report = new List<string>();
        var sent = 0;
        var clock = Stopwatch.StartNew();
        foreach (var operation in ApiDocument.Load())
        {
            var statuses = new SortedDictionary<int, int>();
            foreach (var (caller, full) in FuzzCases.CallersOf(operation))
            {
                await callers.EnsureAliveAsync(caller, cancellationToken);
                var before = await checksum.TakeAsync(cancellationToken);
                foreach (var fuzz in FuzzCases.For(operation, caller, full, callers.Seeds(caller)))
                {
                    var where = $"{operation} as {caller}, {fuzz.Label}";
                    int status;
                    string text;
                    string? mediaType;
                    using (var request = callers.Build(caller, fuzz))
                    {
                        try
                        {
                            using var response = await client.SendAsync(request, cancellationToken);
                            status = (int)response.StatusCode;
                            mediaType = response.Content.Headers.ContentType?.MediaType;
                            text = await response.Content.ReadAsStringAsync(cancellationToken);
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
                        {
                            failures.Add($"{where}: no answer ({e.GetType().Name}: {e.Message})");
                            continue;
                        }
                    }
                    sent++;
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                    if (status >= 500)
                    {
                        failures.Add($"{where}: {status} {Cut(text)}");
                    }
                    else if (status >= 400)
                    {
                        if (ProblemError(status, mediaType, text) is { } problem)
                        {
                            failures.Add($"{where}: {status} {problem}");
                        }
                        var after = await checksum.TakeAsync(cancellationToken);
                        if (DatabaseChecksum.Changed(before, after) is { Count: > 0 } changed)
                        {
                            failures.Add($"{where}: refused with {status}, yet changed table {string.Join(", ", changed)}");
                        }
                        before = after;
                    }
                    var mayHaveEndedCaller = (status < 400 && fuzz.Method is not ("GET" or "HEAD")) || (status == 401 && !fuzz.OverridesCredentials);
                    if (mayHaveEndedCaller || status < 400)
                    {
                        if (mayHaveEndedCaller)
                        {
                            await callers.EnsureAliveAsync(caller, cancellationToken);
                        }
                        before = await checksum.TakeAsync(cancellationToken);
                    }
                }
            }
            var count = statuses.Values.Sum();
            report.Add($"{operation,-48} {count,5} requests  " + string.Join(" ", statuses.Select(s => $"{s.Key}:{s.Value}")));
        }
        report.Add($"{"total",-48} {sent,5} requests in {clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s, "
            + $"{callers.HarnessRequests} more to sign in and seed, {failures.Count} failures");
        foreach (var line in report)
        {
            // "report: " lines of a test's output are printed by ./quartet test, passed or not.
            TestContext.Current.TestOutputHelper?.WriteLine("report: fuzz " + line);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Take(100)));
    }

    /// <summary>Why a 4xx answer is not a proper problem, or null when it is one.</summary>
    private static string? ProblemError(int status, string? mediaType, string text)
    {
        if (mediaType != "application/problem+json")
        {
            return $"is {mediaType ?? "without a body"}, not application/problem+json: {Cut(text)}";
        }
        try
        {
            var body = JsonDocument.Parse(text).RootElement;
            if (body.ValueKind != JsonValueKind.Object
                || !body.TryGetProperty("type", out var type) || type.GetString()?.StartsWith("urn:quartet:problem:", StringComparison.Ordinal) != true
                || !body.TryGetProperty("status", out var problemStatus) || problemStatus.GetInt32() != status)
            {
                return $"problem without a Quartet type or with another status: {Cut(text)}";
            }
        }
        catch (JsonException)
        {
            return $"problem that is not JSON: {Cut(text)}";
        }
        return Internals.FirstOrDefault(word => text.Contains(word, StringComparison.Ordinal)) is { } leak
            ? $"problem shows the server's insides ({leak.Trim()}): {Cut(text)}"
            : null;
    }

    private static string Cut(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
