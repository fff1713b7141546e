using Quartet.StandIns;

namespace Quartet.Deploy.Tests.StandIns;

/// <summary>
/// The tags must not change with the builder: an image built from the same inputs keeps its tag, so
/// CI reuses it. The shell tools the tags were first computed with are the reference.
/// </summary>
[Trait("Category", "StandIns")]
public sealed class ContentHashTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("quartet-hash-");

    [Fact]
    public void PartsHashAsPrintfThroughSha256sum()
    {
        // printf '%s\n' bookworm minbase http://deb.debian.org/debian | sha256sum | cut -c1-12
        Assert.Equal("a45e2291efc3", ContentHash.Of("bookworm", "minbase", "http://deb.debian.org/debian"));
    }

    [Fact]
    public async Task ADirectoryHashesAsFindAndSha256sumDo()
    {
        var root = _directory.FullName;
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(root, "Dockerfile"), "FROM scratch\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(root, "a.b"), "dot\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(root, "a"), "plain\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(root, "sub", "entrypoint.sh"), "#!/bin/sh\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(Path.Combine(root, "sub", "entrypoint.sh"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "link"), "a");

        var result = await HostProgram.OutputAsync("bash", ["-c", """
            cd "$0" && {
              find . -type f -printf '%p %m\n' | LC_ALL=C sort
              find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
            } | sha256sum | cut -c1-12
            """, root], TestContext.Current.CancellationToken);

        Assert.Equal(result.TrimEnd('\n'), ContentHash.OfDirectory(root));
    }

    [Fact]
    public async Task StandardInputHashesAsSha256sumPrintsIt()
    {
        var file = Path.Combine(_directory.FullName, "bundle.crt");
        await File.WriteAllTextAsync(file, "certificate\n", TestContext.Current.CancellationToken);
        var printed = await HostProgram.OutputAsync("bash", ["-c", "sha256sum <\"$0\"", file], TestContext.Current.CancellationToken);
        Assert.Equal(printed.TrimEnd('\n'), ContentHash.OfStandardInput(file));
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
