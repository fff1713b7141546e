namespace Quartet.Api.Tests.Support;

internal static class TestPaths
{
    /// <summary>One folder per test run under the system temp folder; `quartet test` removes stale ones.</summary>
    public static readonly string Root = System.IO.Directory.CreateDirectory(
        Path.Combine(Path.GetTempPath(), "quartet-tests", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20])).FullName;

    public static string NewDirectory(string name) =>
        System.IO.Directory.CreateDirectory(Path.Combine(Root, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)])).FullName;

    /// <summary>The repository root, found from the test binary's folder.</summary>
    public static string Repository { get; } = FindRepository();

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quartet.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Quartet.slnx not found above " + AppContext.BaseDirectory);
    }
}
