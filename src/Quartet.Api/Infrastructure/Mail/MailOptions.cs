using System.ComponentModel.DataAnnotations;
using MimeKit;

namespace Quartet.Api.Infrastructure.Mail;

/// <summary>How TLS is used on the SMTP connection.</summary>
internal enum SmtpSecurity
{
    /// <summary>Plain SMTP: the development mail catcher, or a relay on the same host.</summary>
    None,
    /// <summary>Plain connect, then STARTTLS, which the server must offer (port 587).</summary>
    StartTls,
    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect,
}

internal sealed class MailOptions
{
    public const string Section = "Mail";

    /// <summary>The development mail catcher's SMTP port; production refuses it (see <see cref="DevelopmentSettingsError"/>).</summary>
    public const int CatcherSmtpPort = 1025;
    /// <summary>The development mail catcher's compose service name.</summary>
    public const string CatcherHost = "maildev";

    /// <summary>The SMTP server (relay) every mail is handed to.</summary>
    [Required(AllowEmptyStrings = false)] public string SmtpHost { get; set; } = "";
    [Range(1, 65535)] public int SmtpPort { get; set; } = 587;
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;
    /// <summary>
    /// A TCP forwarder (<c>host:port</c>) to open the connection to instead of SmtpHost, which still names
    /// the relay to TLS (SNI, certificate) and SMTP: compose's backend has no route out, so production
    /// reaches the relay through the mail-egress service. Unset: straight to SmtpHost.
    /// </summary>
    public string? SmtpVia { get; set; }
    /// <summary>The SMTP login; when set, the password is the smtp_password secret. Unset: no authentication.</summary>
    public string? Username { get; set; }
    /// <summary>The From header, e.g. <c>Quartet &lt;no-reply@example.com&gt;</c>.</summary>
    [Required(AllowEmptyStrings = false)] public string From { get; set; } = "";
    /// <summary>The app's public address, which the links in mails start with (e.g. <c>https://app.example.com</c>).</summary>
    [Required(AllowEmptyStrings = false)] public string LinkBaseUrl { get; set; } = "";
    /// <summary>Attempts before a mail is dead (kept for the admin, never retried by itself).</summary>
    [Range(1, 50)] public int MaxAttempts { get; set; } = 8;
    /// <summary>How often each replica looks for mails that are due (others' included).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How long one attempt may take (connect, TLS, login, send).</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A method, not a property: options validation reads every property, and this one throws until LinkBaseUrl is valid.</summary>
    public Uri LinkBase() => new(LinkBaseUrl.TrimEnd('/') + "/");

    public static bool IsValid(MailOptions o) =>
        MailboxAddress.TryParse(o.From, out _)
        && Uri.TryCreate(o.LinkBaseUrl, UriKind.Absolute, out var link) && link.Scheme is "http" or "https"
        && o.PollInterval > TimeSpan.Zero && o.SendTimeout > TimeSpan.Zero
        && (string.IsNullOrEmpty(o.SmtpVia) || o.Via() is not null);

    /// <summary>SmtpVia as host and port, or null when it is not <c>host:port</c>.</summary>
    public (string Host, int Port)? Via()
    {
        var colon = SmtpVia?.LastIndexOf(':') ?? -1;
        return colon > 0 && int.TryParse(SmtpVia.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535
            ? (SmtpVia![..colon], port)
            : null;
    }

    public const string InvalidMessage =
        "Mail: From must be a mail address (Name <name@example.com>), LinkBaseUrl an absolute http(s) URL, SmtpVia host:port when set, PollInterval and SendTimeout positive";

    /// <summary>
    /// The development mail catcher (maildev, on its SMTP port 1025) keeps every mail in a web inbox that
    /// anyone on the host can read: outside Development it is a configuration mistake, never a choice.
    /// </summary>
    public string? DevelopmentSettingsError() =>
        string.Equals(SmtpHost, CatcherHost, StringComparison.OrdinalIgnoreCase) || SmtpPort == CatcherSmtpPort
            ? $"Mail: {SmtpHost}:{SmtpPort} is the development mail catcher, which is refused outside Development; set Mail__SmtpHost and Mail__SmtpPort to your SMTP relay"
            : null;
}
