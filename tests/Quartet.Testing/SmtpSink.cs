using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace Quartet.Testing;

/// <summary>
/// A small SMTP server on a free loopback port that keeps every message it accepts, for tests to read.
/// It speaks enough of RFC 5321 for MailKit (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), without TLS or
/// authentication. Recipients whose local part starts with <c>refused</c> get 550 (a permanent refusal),
/// and those starting with <c>busy</c> get 451 (try again later), so tests can make sends fail.
/// </summary>
public sealed partial class SmtpSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<MimeMessage> _messages = [];
    private readonly Task _accepting;

    private SmtpSink()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static SmtpSink Start() => new();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The settings that point the backend at this sink (configuration keys, ':' separated).</summary>
    public Dictionary<string, string?> Settings(string linkBaseUrl = "https://localhost") => new()
    {
        ["Mail:SmtpHost"] = "127.0.0.1",
        ["Mail:SmtpPort"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mail:Security"] = "None",
        ["Mail:From"] = "Quartet <no-reply@quartet.test>",
        ["Mail:LinkBaseUrl"] = linkBaseUrl,
    };

    /// <summary>Every message received so far for <paramref name="recipient"/> (with that subject, if given), oldest first.</summary>
    public IReadOnlyList<MimeMessage> To(string recipient, string? subject = null)
    {
        lock (_messages)
        {
            return [.. _messages.Where(m => m.To.Mailboxes.Any(a => string.Equals(a.Address, recipient, StringComparison.OrdinalIgnoreCase))
                && (subject is null || m.Subject == subject))];
        }
    }

    /// <summary>Waits until <paramref name="recipient"/> has received <paramref name="count"/> messages (with that subject, if given), and returns the last of them.</summary>
    public async Task<MimeMessage> WaitForAsync(string recipient, int count = 1, string? subject = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var received = To(recipient, subject);
            if (received.Count >= count)
            {
                return received[count - 1];
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{recipient} received {received.Count} of {count} mails within the time allowed");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The token of the first Quartet link in the message's plain-text body.</summary>
    public static string TokenIn(MimeMessage message) =>
        LinkToken().Match(message.TextBody ?? "") is { Success: true } match
            ? match.Groups[1].Value
            : throw new InvalidOperationException("no link with a token in the mail:\n" + message.TextBody);

    [GeneratedRegex("#token=([A-Za-z0-9_-]{43})")]
    private static partial Regex LinkToken();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            await using var stream = client.GetStream();
            // Latin-1 maps bytes to chars one to one, so an 8-bit body comes back byte for byte.
            using var reader = new StreamReader(stream, Encoding.Latin1);
            await using var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 sink ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteAsync("250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
                        break;
                    case "HELO" or "MAIL" or "RSET" or "NOOP":
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "RCPT":
                        var local = line.Contains('<', StringComparison.Ordinal) ? line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..] : "";
                        await writer.WriteLineAsync(local.StartsWith("refused", StringComparison.OrdinalIgnoreCase) ? "550 5.1.1 No such user"
                            : local.StartsWith("busy", StringComparison.OrdinalIgnoreCase) ? "451 4.3.0 Try again later" : "250 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } dataLine && dataLine != ".")
                        {
                            data.Append(dataLine.StartsWith('.') ? dataLine[1..] : dataLine).Append("\r\n");
                        }
                        using (var message = new MemoryStream(Encoding.Latin1.GetBytes(data.ToString())))
                        {
                            var parsed = await MimeMessage.LoadAsync(message);
                            lock (_messages)
                            {
                                _messages.Add(parsed);
                            }
                        }
                        await writer.WriteLineAsync("250 OK queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 Bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 Command not implemented");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
