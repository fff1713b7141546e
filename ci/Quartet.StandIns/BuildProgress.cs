using Docker.DotNet.Models;

namespace Quartet.StandIns;

/// <summary>
/// The engine's messages of a build or an import, written to a log as they come. The engine reports
/// a failed build inside the stream, with the request itself answered 200, so the error is kept here.
/// </summary>
internal sealed class BuildProgress(string log, bool append) : IProgress<JSONMessage>, IAsyncDisposable
{
    private readonly StreamWriter _writer = new(log, append) { AutoFlush = true };
    private readonly Lock _lock = new();

    public string? Error { get; private set; }

    public void Report(JSONMessage value)
    {
        lock (_lock)
        {
            var error = value.Error?.Message ?? value.ErrorMessage;
            if (!string.IsNullOrEmpty(error))
            {
                Error ??= error.Trim();
                _writer.WriteLine($"error: {error}");
            }
            else if (!string.IsNullOrEmpty(value.Stream))
            {
                _writer.Write(value.Stream);
            }
            else if (!string.IsNullOrEmpty(value.Status))
            {
                _writer.WriteLine(value.Status);
            }
        }
    }

    public void ThrowIfFailed(string failure)
    {
        if (Error is not null)
        {
            throw new StandInException($"{failure}: {Error}");
        }
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
