namespace Quartet.Testing;

/// <summary>A <see cref="TestStack"/> that xUnit starts before its first user and stops after its last.</summary>
public abstract class StackFixture : IAsyncLifetime
{
    private TestStack? _stack;

    public TestStack Stack => _stack ?? throw new InvalidOperationException("the test stack is not started");

    public async ValueTask InitializeAsync() => _stack = await TestStack.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>The one PostgreSQL and Redis of this test assembly; every test class that needs them takes this in its constructor.</summary>
public sealed class SharedStack : StackFixture;

/// <summary>A PostgreSQL and Redis for one test class alone: for tests that stop a server, or count what a server receives.</summary>
public sealed class PrivateStack : StackFixture;
