namespace Quartet.Api.Infrastructure;

/// <summary>
/// Redis or PostgreSQL could not be reached. The problem handler answers 503 with Retry-After; a feature
/// that can do without the dependency (the notes cache without Redis) catches it and carries on.
/// </summary>
internal sealed class DependencyUnavailableException(string dependency, Exception inner)
    : Exception($"{dependency} is unavailable.", inner)
{
    public string Dependency { get; } = dependency;
}
