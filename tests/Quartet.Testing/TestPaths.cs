namespace Quartet.Testing;

public static class TestPaths
{
    /// <summary>
    /// One folder per test process under the system temp folder (reachable by the service accounts
    /// the servers run as). The fixtures remove what they made; `./quartet test` removes the folders
    /// of test processes that have ended.
    /// </summary>
    public static readonly string Root = CreateRoot();

    public static string NewDirectory(string name) =>
        Directory.CreateDirectory(Path.Combine(Root, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)])).FullName;

    /// <summary>The repository root, found from the test binary's folder.</summary>
    public static string Repository { get; } = Quartet.Stack.StackLayout.FindRoot(AppContext.BaseDirectory);

    private static string CreateRoot() =>
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "quartet-tests", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20])).FullName;
}
