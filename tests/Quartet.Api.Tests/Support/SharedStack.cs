[assembly: AssemblyFixture(typeof(Quartet.Api.Tests.Support.SharedStack))]

namespace Quartet.Api.Tests.Support;

/// <summary>
/// The one PostgreSQL and Redis of this test assembly: started before the first test, stopped after
/// the last, by xUnit. Every test class that needs them takes this in its constructor.
/// </summary>
public sealed class SharedStack : IAsyncLifetime
{
    private TestStack? _stack;

    public TestStack Stack => _stack ?? throw new InvalidOperationException("the shared stack is not started");

    public async ValueTask InitializeAsync() => _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}

/// <summary>
/// A PostgreSQL and Redis for one test class alone: for tests that stop a server, or count what a
/// server receives.
/// </summary>
public sealed class PrivateStack : IAsyncLifetime
{
    private TestStack? _stack;

    public TestStack Stack => _stack ?? throw new InvalidOperationException("the private stack is not started");

    public async ValueTask InitializeAsync() => _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}
