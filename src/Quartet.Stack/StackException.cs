namespace Quartet.Stack;

/// <summary>A failure the operator can act on; its message is one line that says what to do.</summary>
public sealed class StackException(string message) : Exception(message);
