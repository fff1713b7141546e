using System.Net;
using Npgsql;
using Quartet.Stack.Backups;

namespace Quartet.Deploy.Tests.Backups;

/// <summary>The tests that share one private native stack, one after another.</summary>
[CollectionDefinition(Name)]
public sealed class NativeStackCollection : ICollectionFixture<NativeBackupFixture>
{
    public const string Name = "Native stack";
}

/// <summary>
/// A whole native stack of its own (nginx, backend, PostgreSQL archiving to pgBackRest, Redis), as
/// <c>./quartet up</c> starts it, in a private folder whose name has a space; removed afterwards.
/// </summary>
public sealed class NativeBackupFixture : IAsyncLifetime
{
    private string _folder = "";

    public NativeStack Stack { get; private set; } = null!;
    public StackBackups Backups { get; private set; } = null!;
    public List<string> Said { get; } = [];

    public async ValueTask InitializeAsync()
    {
        _folder = TestPaths.NewDirectory("backup");
        var home = Directory.CreateDirectory(Path.Combine(_folder, "private home")).FullName;
        File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var state = Path.Combine(home, "state");
        var data = Native.IsRoot ? Path.Combine(_folder, "data") : state;
        Stack = new NativeStack(new StackLayout(TestPaths.Repository, state, data), StackSettings.Private("admin@backup.quartet.localhost") with { MetricsPort = Ports.Free() },
            Say, detached: false);
        Backups = new StackBackups(Stack, Say);
        await Stack.UpAsync(TestContext.Current.CancellationToken);
    }

    public void Say(string message)
    {
        lock (Said)
        {
            Said.Add(message);
        }
        TestContext.Current.SendDiagnosticMessage(message);
    }

    public HttpClient NewClient() => new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true })
    {
        BaseAddress = Stack.Settings.PublicUrl,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public async Task<NpgsqlConnection> OpenDatabaseAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(Stack.Postgres.ConnectionString(NativeStack.Database, pooling: false));
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await Stack.DownAsync(CancellationToken.None);
        Directory.Delete(_folder, recursive: true);
    }
}
