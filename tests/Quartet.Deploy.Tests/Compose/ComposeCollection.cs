namespace Quartet.Deploy.Tests.Compose;

/// <summary>
/// The compose tests share one engine, one project name and one published port at a time, so they
/// run one after another and beside nothing else.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
[TestClassOrderer(typeof(StepOrderer))]
[TestMethodOrderer(typeof(StepOrderer))]
public sealed class ComposeCollection : ICollectionFixture<ComposeSuite>
{
    public const string Name = "Compose";
}
