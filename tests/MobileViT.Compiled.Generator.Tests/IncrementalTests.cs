using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>Unchanged model files must not recompile the model: the pipeline's records compare by value.</summary>
public class IncrementalTests
{
    [Fact]
    public void SecondRunWithSameInputsIsCached()
    {
        var driver = GeneratorHarness.CreateDriver(ModelFolder.Fixture("mobilevit-xx-small-fashion"));
        var compilation = GeneratorHarness.EmptyCompilation();
        driver = driver.RunGenerators(compilation);
        // A new compilation (the user edited C#) with the same model files.
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("class Edited {}")));
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;
        foreach (var name in new[] { "ModelInputs", "CompiledModels" })
        {
            var reasons = steps[name].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {r}"));
        }
    }

    [Fact]
    public void ChangedConfigRecompiles()
    {
        var folder = ModelFolder.Fixture("mobilevit-xx-small-fashion");
        var driver = GeneratorHarness.CreateDriver(folder).RunGenerators(GeneratorHarness.EmptyCompilation());
        var first = driver.GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString();
        var changed = folder with { ConfigText = folder.ConfigText!.Replace("\"Trouser\"", "\"Trousers\"") };
        var second = GeneratorHarness.CreateDriver(changed).RunGenerators(GeneratorHarness.EmptyCompilation())
            .GetRunResult().Results.Single().GeneratedSources.Single().SourceText.ToString();
        Assert.NotEqual(first, second);
        Assert.Contains("\"Trousers\"", second);
    }
}
