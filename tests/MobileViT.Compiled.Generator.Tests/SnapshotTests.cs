using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>
/// The generated source of each fixture model, compared whole with a committed baseline file in Baselines/.
/// After a deliberate change to the generated code, rewrite the baselines with
/// MOBILEVIT_UPDATE_BASELINES=1 dotnet test tests/MobileViT.Compiled.Generator.Tests, and review the diff.
/// </summary>
public class SnapshotTests
{
    [Theory]
    [InlineData("mobilevit-xx-small", "MobileViTXXSmall")]
    [InlineData("mobilevit-x-small", "MobileViTXSmall")]
    [InlineData("mobilevit-small", "MobileViTSmall")]
    [InlineData("mobilevit-xx-small-fashion", "")]
    [InlineData("deeplabv3-mobilevit-xx-small", "DeepLabV3MobileViTXXSmall")]
    [InlineData("mobilevitv2-0.5", "MobileViTV2Half")]
    [InlineData("mobilevit-xx-small-fashion", "", "int8")]
    public void GeneratedSourceMatchesBaseline(string model, string className, string precision = "")
    {
        var result = GeneratorHarness.Run(ModelFolder.Fixture(model, className) with { Precision = precision });
        var (hintName, source) = Assert.Single(result.Sources);
        string baseline = Path.Combine(ModelFolder.RepoRoot, "tests", "MobileViT.Compiled.Generator.Tests", "Baselines", hintName + ".txt");
        if (Environment.GetEnvironmentVariable("MOBILEVIT_UPDATE_BASELINES") == "1")
        {
            File.WriteAllText(baseline, source);
            return;
        }
        Assert.True(File.Exists(baseline), $"No baseline {baseline}; run with MOBILEVIT_UPDATE_BASELINES=1 to create it.");
        string expected = File.ReadAllText(baseline).ReplaceLineEndings("\n");
        if (expected == source) return;
        Assert.Fail($"Generated source differs from {baseline} (set MOBILEVIT_UPDATE_BASELINES=1 to accept):\n{Diff(expected, source)}");
    }

    private static string Diff(string expected, string actual)
    {
        var lines = InlineDiffBuilder.Diff(expected, actual).Lines;
        var shown = new List<string>();
        for (int i = 0; i < lines.Count && shown.Count < 60; i++)
        {
            if (lines[i].Type == ChangeType.Unchanged) continue;
            string mark = lines[i].Type == ChangeType.Inserted ? "+ " : lines[i].Type == ChangeType.Deleted ? "- " : "  ";
            shown.Add($"{i + 1,6}: {mark}{lines[i].Text}");
        }
        return string.Join("\n", shown);
    }
}
