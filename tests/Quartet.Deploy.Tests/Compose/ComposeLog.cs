namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The suite's log file: every command it runs with all that the command printed, and every step of
/// every test. A test's own output gets the short version (what it did, what differed).
/// </summary>
public sealed class ComposeLog
{
    private readonly Lock _lock = new();

    public ComposeLog(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
    }

    public string Path { get; }

    public void Write(string text)
    {
        lock (_lock)
        {
            File.AppendAllText(Path, text.EndsWith('\n') ? text : text + "\n");
        }
    }

    /// <summary>A step: into the log, and into the running test's output when there is a test.</summary>
    public void Say(string line)
    {
        Write($"==== {DateTime.UtcNow:HH:mm:ss} {line}");
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }
}
