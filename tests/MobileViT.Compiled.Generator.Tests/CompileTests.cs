using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>The generated source for every fixture model compiles with no errors or warnings against the runtime.</summary>
public class CompileTests
{
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("mobilevit-x-small")]
    [InlineData("mobilevit-small")]
    [InlineData("mobilevit-xx-small-fashion")]
    public void GeneratedSourceCompilesCleanly(string model)
    {
        var result = GeneratorHarness.Run(ModelFolder.Fixture(model));
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Single(result.Sources);
        var problems = result.CompileDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
    }
}
