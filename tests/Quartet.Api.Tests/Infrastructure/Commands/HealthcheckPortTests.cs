using Microsoft.Extensions.Configuration;
using Quartet.Api.Infrastructure.Commands;

namespace Quartet.Api.Tests.Infrastructure.Commands;

public sealed class HealthcheckPortTests
{
    private static int PortFor(params (string Key, string Value)[] settings) =>
        HealthcheckCommand.LocalPort(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void TheHealthcheckProbesThePortKestrelListensOn()
    {
        Assert.Equal(8080, PortFor(("ASPNETCORE_HTTP_PORTS", "8080")));
        Assert.Equal(8081, PortFor(("ASPNETCORE_URLS", "http://127.0.0.1:8081")));
        Assert.Equal(9000, PortFor(("ASPNETCORE_URLS", "http://+:9000"), ("ASPNETCORE_HTTP_PORTS", "8080"))); // URLS wins, as in Kestrel
        Assert.Equal(5000, PortFor());
    }
}
