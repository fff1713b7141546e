using System.Text;

namespace Quartet.Api.Infrastructure.Logging;

/// <summary>
/// Standard output with a buffer that holds a whole log line, flushed after each one: the console
/// logger's thread writes a line and flushes, so each line is one <c>write</c> call, whole, as before,
/// and nothing is held back. The runtime's default writer has a 256-byte buffer and split a request's
/// line into three calls (docs/performance.md).
/// </summary>
internal static class WholeLineStdout
{
    /// <summary>Lines longer than this still go out whole, in more than one call.</summary>
    public const int BufferBytes = 16 * 1024;

    private static int s_installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1)
        {
            return;
        }
        var writer = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), BufferBytes)
        {
            AutoFlush = true,
        };
        Console.SetOut(writer);
    }
}
