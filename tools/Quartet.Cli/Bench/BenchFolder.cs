using Quartet.Stack;

namespace Quartet.Cli.Bench;

/// <summary>
/// A run's own folder in the temp folder: the ids, wrk's reports and output, the second servers'
/// files and logs. Mode 755, since the second nginx runs as www-data when the caller is root. Removed
/// afterwards, unless kept for the logs a failure points at.
/// </summary>
internal sealed class BenchFolder : IDisposable
{
    private bool _keep;

    private BenchFolder(string path) => Path = path;

    public string Path { get; }

    public static BenchFolder Create()
    {
        var folder = Directory.CreateTempSubdirectory("quartet-bench-").FullName;
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        return new BenchFolder(folder);
    }

    /// <summary>After a failure: keeps the folder when the run wrote something to it, and says so in the message.</summary>
    public string KeepAndExplain(StackException failure)
    {
        _keep = Directory.EnumerateFileSystemEntries(Path).Any();
        return _keep ? $"{failure.Message}\n(this run's files are kept in {Path})" : failure.Message;
    }

    public void Dispose()
    {
        if (_keep)
        {
            return;
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover in the temp folder is not worth failing the run for.
        }
    }
}
