using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Quartet.Stack;

namespace Quartet.Backup;

/// <summary>
/// One connection to Redis speaking just enough RESP for the backup user's few commands (AUTH, SYNC):
/// a client library's connect-time probes (CONFIG, CLUSTER, pub/sub) are what that user may not run.
/// </summary>
internal sealed class RedisWire : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _reader;

    private RedisWire(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new BufferedStream(_stream);
    }

    public static async Task<RedisWire> ConnectAsync(string host, int port, string user, string password, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient();
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync(host, port, limit.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        var wire = new RedisWire(tcp);
        var reply = await wire.CommandAsync(cancellationToken, "AUTH", user, password);
        if (reply != "OK")
        {
            await wire.DisposeAsync();
            throw new StackException($"redis refused the login of {user}: {reply}");
        }
        return wire;
    }

    /// <summary>True when something answers on the address (a running Redis).</summary>
    public static async Task<bool> AnswersAsync(string host, int port, CancellationToken cancellationToken)
    {
        try
        {
            using var tcp = new TcpClient();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(3));
            await tcp.ConnectAsync(host, port, limit.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>A command's reply as text; an error reply comes back as its message ("ERR ...").</summary>
    public async Task<string> CommandAsync(CancellationToken cancellationToken, params string[] command)
    {
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        var line = await ReadLineAsync(cancellationToken);
        switch (line[0])
        {
            case '+' or '-' or ':':
                return line[1..];
            case '$':
                var length = int.Parse(line[1..], CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return "";
                }
                var body = new byte[length + 2];
                await _reader.ReadExactlyAsync(body, cancellationToken);
                return Encoding.UTF8.GetString(body, 0, length);
            default:
                throw new StackException($"redis answered {command[0]} with an unexpected reply: {line}");
        }
    }

    /// <summary>
    /// A snapshot of the whole dataset over the replication protocol, written to <paramref name="destination"/>:
    /// SYNC makes Redis fork and save a point-in-time RDB (decision 0019's "a save of ours") and send it as
    /// one bulk, after newlines while the save runs. The backup container needs no access to Redis's volume.
    /// </summary>
    public async Task<long> SyncSnapshotAsync(Stream destination, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(limit);
        await _stream.WriteAsync("*1\r\n$4\r\nSYNC\r\n"u8.ToArray(), bounded.Token);
        string header;
        try
        {
            do
            {
                header = await ReadLineAsync(bounded.Token, skipNewlines: true);
            }
            while (header.Length == 0);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StackException($"redis sent no snapshot within {limit} of SYNC");
        }
        if (header[0] != '$' || !long.TryParse(header.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw new StackException($"redis answered SYNC with {header}");
        }
        var buffer = new byte[81920];
        for (var left = length; left > 0;)
        {
            var read = await _reader.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), bounded.Token);
            if (read == 0)
            {
                throw new StackException($"redis closed the connection after {length - left} of the snapshot's {length} bytes");
            }
            await destination.WriteAsync(buffer.AsMemory(0, read), bounded.Token);
            left -= read;
        }
        return length;
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken, bool skipNewlines = false)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await _reader.ReadAsync(one, cancellationToken) == 0)
            {
                throw new StackException("redis closed the connection");
            }
            if (skipNewlines && one[0] == '\n' && bytes.Count == 0)
            {
                continue;
            }
            if (one[0] == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                return Encoding.UTF8.GetString(bytes.ToArray(), 0, bytes.Count - 1);
            }
            bytes.Add(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
