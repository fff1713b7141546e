using System.Formats.Tar;
using System.IO.Pipelines;

namespace Quartet.StandIns;

/// <summary>
/// A tar archive of files and directories of this host, written while it is read: a build context
/// (an image's directory plus what the host lends it, such as its .NET) or a root file system to
/// import. Nothing is copied to disk first. Entries keep their modes, owners and symbolic links.
/// </summary>
internal sealed class TarStream
{
    private readonly List<(string Path, string Name)> _roots = [];

    /// <summary>Every entry of <paramref name="directory"/>, at the top of the archive.</summary>
    public static TarStream Of(string directory)
    {
        var tar = new TarStream();
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            tar.Add(entry.FullName, entry.Name);
        }
        return tar;
    }

    /// <summary>A file, link or directory (with everything under it) under the name <paramref name="name"/>.</summary>
    public TarStream Add(string path, string name)
    {
        _roots.Add((path, name));
        return this;
    }

    /// <summary>Hands <paramref name="consume"/> a stream of the archive, written as it reads.</summary>
    public async Task SendAsync(Func<Stream, Task> consume, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                await using (var output = pipe.Writer.AsStream(leaveOpen: true))
                {
                    await WriteAsync(output, stop.Token);
                }
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
            }
        }, CancellationToken.None);
        try
        {
            await using var input = pipe.Reader.AsStream();
            await consume(input);
        }
        finally
        {
            // A reader that stopped early (a failed build) must not leave the writer waiting.
            await stop.CancelAsync();
            await pipe.Reader.CompleteAsync();
            await producer;
        }
    }

    private async Task WriteAsync(Stream output, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var (path, name) in _roots)
        {
            await WriteTreeAsync(writer, new FileInfo(path).Exists ? new FileInfo(path) : new DirectoryInfo(path), name, cancellationToken);
        }
    }

    private static async Task WriteTreeAsync(TarWriter writer, FileSystemInfo entry, string name, CancellationToken cancellationToken)
    {
        if (!entry.Exists && entry.LinkTarget is null)
        {
            throw new StandInException($"{entry.FullName} is missing; it belongs in the archive as {name}");
        }
        await writer.WriteEntryAsync(entry.FullName, name, cancellationToken);
        if (entry is DirectoryInfo directory && entry.LinkTarget is null)
        {
            foreach (var child in directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                await WriteTreeAsync(writer, child, $"{name}/{child.Name}", cancellationToken);
            }
        }
    }
}
