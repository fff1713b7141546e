namespace Quartet.Deploy.Tests.Compose;

/// <summary>compose.yaml as <c>./quartet up</c> starts it.</summary>
[Collection(ComposeCollection.Name)]
[Trait("Category", "Compose")]
[Step(2)]
public sealed class DevelopmentStackTests(DevelopmentStack stack) : StackTests<DevelopmentStack>(stack), IClassFixture<DevelopmentStack>;
