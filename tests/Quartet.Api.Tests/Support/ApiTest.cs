namespace Quartet.Api.Tests.Support;

/// <summary>
/// A test class with its own database (cloned from the migrated template) and one https client,
/// signed in as a fresh user when <paramref name="signIn"/> is true.
/// </summary>
public abstract class ApiTest(bool signIn) : IAsyncLifetime
{
    private protected QuartetFactory Factory { get; private set; } = null!;
    private protected HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Factory = await QuartetFactory.CreateAsync();
        Client = Factory.CreateHttpsClient();
        if (signIn)
        {
            await Client.RegisterAndLoginAsync();
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
    }
}
