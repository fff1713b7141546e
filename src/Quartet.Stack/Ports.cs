using System.Net;
using System.Net.Sockets;

namespace Quartet.Stack;

public static class Ports
{
    /// <summary>
    /// A loopback port nothing listens on, below the kernel's ephemeral range (32768 and up), so a
    /// busy client's outgoing connections cannot take it meanwhile.
    /// </summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = System.Security.Cryptography.RandomNumberGenerator.GetInt32(20000, 32000);
            if (!InUse(port) && CanBind(port))
            {
                return port;
            }
        }
        throw new StackException("no free loopback port found between 20000 and 32000");
    }

    /// <summary>Something accepts TCP connections on 127.0.0.1:port.</summary>
    public static bool InUse(int port)
    {
        try
        {
            using var client = new TcpClient();
            return client.ConnectAsync(IPAddress.Loopback, port).Wait(TimeSpan.FromSeconds(1)) && client.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
