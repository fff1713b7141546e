using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Quartet.Api.Infrastructure.Mail;

/// <summary>Hands one message to the configured SMTP server with MailKit.</summary>
internal sealed class MailSender(IOptions<MailOptions> options, MailCredentials credentials)
{
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var mail = options.Value;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(mail.SendTimeout);
        using var client = new SmtpClient { Timeout = (int)mail.SendTimeout.TotalMilliseconds };
        var security = mail.Security switch
        {
            SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
            SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.None,
        };
        if (mail.Via() is { } via)
        {
            // The socket goes to the forwarder; TLS and SMTP still speak to SmtpHost by its name.
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(via.Host, via.Port, timeout.Token);
                await client.ConnectAsync(socket, mail.SmtpHost, mail.SmtpPort, security, timeout.Token);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        else
        {
            await client.ConnectAsync(mail.SmtpHost, mail.SmtpPort, security, timeout.Token);
        }
        if (mail.Username is { Length: > 0 } username)
        {
            await client.AuthenticateAsync(username, credentials.Password, timeout.Token);
        }
        await client.SendAsync(message, timeout.Token);
        await client.DisconnectAsync(quit: true, timeout.Token);
    }

    /// <summary>A reply that will not change on retry: the server refused the sender or the recipient, or the login.</summary>
    public static bool IsPermanent(Exception e) => e switch
    {
        SmtpCommandException command => (int)command.StatusCode >= 500,
        AuthenticationException => true,
        _ => false,
    };
}

/// <summary>The SMTP password (secret smtp_password), read at start when Mail:Username is set. Never printed.</summary>
internal sealed class MailCredentials(string password)
{
    public string Password { get; } = password;

    public override string ToString() => nameof(MailCredentials) + " (value hidden)";
}
