using System.Net;
using System.Reflection;
using MimeKit;

namespace Quartet.Api.Infrastructure.Mail;

/// <summary>
/// The mails' bodies, from files built into the binary (<c>mail/&lt;name&gt;.txt</c> and <c>.html</c>).
/// The text file's first line is <c>Subject: ...</c>. Placeholders are <c>{{name}}</c>; in the HTML body
/// every value is HTML-encoded, so an address or a link can never add markup.
/// </summary>
internal static class MailTemplates
{
    private const string SubjectPrefix = "Subject: ";

    public static MimeMessage Render(string name, MailboxAddress from, MailboxAddress to, IReadOnlyDictionary<string, string> values)
    {
        var text = Read($"mail/{name}.txt");
        var html = Read($"mail/{name}.html");
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (!text.StartsWith(SubjectPrefix, StringComparison.Ordinal) || newline < 0)
        {
            throw new InvalidOperationException($"mail/{name}.txt must start with a '{SubjectPrefix}' line");
        }
        var subject = Fill(text[SubjectPrefix.Length..newline].Trim(), values, encode: false);
        var body = new BodyBuilder
        {
            TextBody = Fill(text[(newline + 1)..].TrimStart('\n'), values, encode: false),
            HtmlBody = Fill(html, values, encode: true),
        };
        var message = new MimeMessage { Subject = subject, Body = body.ToMessageBody() };
        message.From.Add(from);
        message.To.Add(to);
        return message;
    }

    private static string Fill(string template, IReadOnlyDictionary<string, string> values, bool encode)
    {
        foreach (var (key, value) in values)
        {
            template = template.Replace("{{" + key + "}}", encode ? WebUtility.HtmlEncode(value) : value, StringComparison.Ordinal);
        }
        return template;
    }

    private static string Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the mail template {resource} is not built into the binary");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().ReplaceLineEndings("\n");
    }
}

/// <summary>What to do with a claimed mail: send <see cref="Message"/>, or skip it for <see cref="SkipReason"/>.</summary>
internal sealed record ComposedMail(MimeMessage? Message, string? SkipReason)
{
    public static ComposedMail Send(MimeMessage message) => new(message, null);

    public static ComposedMail Skip(string reason) => new(null, reason);
}

/// <summary>
/// Makes the mail for one template when it is about to be sent: it may look the account up again
/// (it may have changed since the mail was queued) and make a token, which then lives only in the mail.
/// </summary>
internal interface IMailComposer
{
    string Template { get; }

    Task<ComposedMail> ComposeAsync(OutboxMail mail, CancellationToken cancellationToken);
}
