namespace Quartet.Deploy.Tests.Observability;

/// <summary>Programs from Debian's prometheus package, which `./quartet test` installs.</summary>
internal static class DebianTools
{
    /// <summary>Skips the test with the reason when the program is missing; on CI (CI=true) fails it instead.</summary>
    public static void Require(string program)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, program)));
        if (found)
        {
            return;
        }
        var reason = $"{program} is not installed: apt-get install prometheus (./quartet test installs it)";
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail(reason);
        }
        Assert.Skip(reason);
    }
}
