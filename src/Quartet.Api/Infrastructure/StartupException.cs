namespace Quartet.Api.Infrastructure;

/// <summary>
/// A reason the process cannot start, written for an operator: the message is printed as-is on
/// one line of standard error and the process exits non-zero. It never carries a secret value.
/// </summary>
internal sealed class StartupException(string message) : Exception(message);
