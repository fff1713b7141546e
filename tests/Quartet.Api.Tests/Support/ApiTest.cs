namespace Quartet.Api.Tests.Support;

/// <summary>
/// A test class with its own database (cloned from the migrated template) and one https client,
/// signed in as a fresh user when <paramref name="signIn"/> is true.
/// </summary>
public abstract class ApiTest(SharedStack shared, bool signIn) : IAsyncLifetime
{
    private protected QuartetFactory Factory { get; private set; } = null!;
    private protected HttpClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Factory = await QuartetFactory.CreateAsync(shared.Stack);
        Client = Factory.CreateHttpsClient();
        if (signIn)
        {
            await Client.RegisterAndLoginAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
    }
}
