namespace Quartet.StandIns;

/// <summary>A stand-in image could not be made; the message's first line says why and what to do.</summary>
public sealed class StandInException(string message) : Exception(message);
