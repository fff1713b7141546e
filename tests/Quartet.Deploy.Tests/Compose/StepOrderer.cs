using System.Reflection;
using Xunit.Sdk;
using Xunit.v3;

namespace Quartet.Deploy.Tests.Compose;

/// <summary>Where a test class or method runs among its siblings; those without a step run last, by name.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class StepAttribute(int number) : Attribute
{
    public int Number { get; } = number;
}

/// <summary>
/// Runs the compose suite in the order a person would check a deployment: images, the development
/// stack, the secrets script, the production stack; within a stack, what only looks comes before
/// what breaks something (down and up, kill -9, a Redis restart, down -v).
/// </summary>
public sealed class StepOrderer : ITestClassOrderer, ITestMethodOrderer
{
    public IReadOnlyCollection<TTestClass?> OrderTestClasses<TTestClass>(IReadOnlyCollection<TTestClass?> testClasses)
        where TTestClass : notnull, ITestClass =>
        [.. testClasses.OrderBy(c => Step(c is IXunitTestClass x ? x.Class : null)).ThenBy(c => c?.TestClassName, StringComparer.Ordinal)];

    public IReadOnlyCollection<TTestMethod?> OrderTestMethods<TTestMethod>(IReadOnlyCollection<TTestMethod?> testMethods)
        where TTestMethod : notnull, ITestMethod =>
        [.. testMethods.OrderBy(m => Step(m is IXunitTestMethod x ? x.Method : null)).ThenBy(m => m?.MethodName, StringComparer.Ordinal)];

    private static int Step(MemberInfo? member) => member?.GetCustomAttribute<StepAttribute>()?.Number ?? int.MaxValue;
}
