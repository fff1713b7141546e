using System.Net;
using System.Net.Sockets;

namespace Quartet.Api.Infrastructure.Auth;

/// <summary>The unit a client is counted in by the throttles.</summary>
internal static class ClientAddress
{
    /// <summary>
    /// An IPv4 address as itself; an IPv6 address by its /64, the block one subscriber is usually given, so
    /// that walking through the 2^64 addresses of one's own network does not escape a per-address limit;
    /// an IPv4-mapped IPv6 address (<c>::ffff:198.51.100.7</c>) as the IPv4 address it maps.
    /// </summary>
    public static string ThrottleKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The throttle key of the client as the forwarded-headers middleware settled it.</summary>
    public static string ClientKey(this HttpContext context) => ThrottleKey(context.Connection.RemoteIpAddress);
}
