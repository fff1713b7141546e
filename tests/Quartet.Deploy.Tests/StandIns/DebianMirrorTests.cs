using Quartet.StandIns;

namespace Quartet.Deploy.Tests.StandIns;

[Trait("Category", "StandIns")]
public sealed class DebianMirrorTests
{
    [Fact]
    public void Deb822TakesTheFirstUriOfAnEnabledBookwormEntry()
    {
        const string Sources = """
            Types: deb
            URIs: http://old.example/debian
            Suites: bookworm
            Enabled: no

            Types: deb-src
            URIs: http://source.example/debian
            Suites: bookworm

            # the archive this host installs from
            Types: deb
            URIs: http://mirror.example/debian http://second.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
            """;
        Assert.Equal("http://mirror.example/debian", DebianMirror.FromDeb822(Sources));
    }

    [Fact]
    public void Deb822WithoutBookwormHasNoMirror()
    {
        Assert.Null(DebianMirror.FromDeb822("Types: deb\nURIs: http://mirror.example/debian\nSuites: trixie\n"));
    }

    [Fact]
    public void OneLineFormatSkipsOptionsInBrackets()
    {
        const string List = """
            deb-src http://source.example/debian bookworm main
            deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://mirror.example/debian bookworm main
            """;
        Assert.Equal("http://mirror.example/debian", DebianMirror.FromOneLine(List));
    }

    [Fact]
    public void TheKeyringOfTheEntryIsKeptForTheComposePluginsSourcesLine()
    {
        var deb822 = DebianMirror.SourceFromDeb822("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
        var oneLine = DebianMirror.SourceFromOneLine("deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://mirror.example/debian bookworm main");

        Assert.Equal("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian trixie main", ComposePlugin.SourcesLine(deb822!));
        Assert.Equal("deb [signed-by=/usr/share/keyrings/debian.gpg] http://mirror.example/debian trixie main", ComposePlugin.SourcesLine(oneLine!));
    }

    [Fact]
    public void AnInlineKeyOrNoKeyringLeavesTheCheckToAptsTrustedKeys()
    {
        var inline = DebianMirror.SourceFromDeb822("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n");
        var plain = DebianMirror.SourceFromOneLine("deb http://mirror.example/debian bookworm main");

        Assert.Equal("deb http://mirror.example/debian trixie main", ComposePlugin.SourcesLine(inline!));
        Assert.Equal("deb http://mirror.example/debian trixie main", ComposePlugin.SourcesLine(plain!));
    }

    [Theory]
    [InlineData("v20.19.0", true)]
    [InlineData("v20.20.2", true)]
    [InlineData("v22.1.0", true)]
    [InlineData("v20.18.3", false)]
    [InlineData("v18.19.0", false)]
    [InlineData("", false)]
    public void NodeMustBe20Point19OrNewer(string version, bool enough)
    {
        Assert.Equal(enough, StandInBuilder.IsRecentEnough(version));
    }
}
