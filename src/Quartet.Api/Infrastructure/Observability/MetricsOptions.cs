using System.Net;
using Microsoft.Extensions.Options;

namespace Quartet.Api.Infrastructure.Observability;

internal sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Off turns every metric off, the endpoint with them (a switch for measuring their cost, or for a host that wants none).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The port of the Prometheus endpoint, a listener of its own; 0 (the default) serves no metrics at all.</summary>
    public int Port { get; set; }

    /// <summary>The address that listener binds: loopback unless a scraper elsewhere must reach it (0.0.0.0 in a container).</summary>
    public string Address { get; set; } = "127.0.0.1";

    public bool Serves => Enabled && Port > 0;

    /// <summary>
    /// Read while the host is being built, because the settings decide what is registered and which
    /// ports Kestrel binds. Bad values stop the start as every other setting does, with one line.
    /// </summary>
    public static MetricsOptions Read(IConfiguration configuration)
    {
        MetricsOptions options;
        try
        {
            options = configuration.GetSection(Section).Get<MetricsOptions>() ?? new();
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(e.Message);
        }
        if (options.Port is < 0 or > 65535)
        {
            throw Invalid($"Metrics:Port must be 0 (no metrics) or a port number, not {options.Port}.");
        }
        if (!IPAddress.TryParse(options.Address, out _))
        {
            throw Invalid($"Metrics:Address must be an IP address (127.0.0.1, 0.0.0.0, ::), not '{options.Address}'.");
        }
        return options;
    }

    private static OptionsValidationException Invalid(string failure) => new(Section, typeof(MetricsOptions), [failure]);
}
