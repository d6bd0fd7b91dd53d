using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>The weight recipe's text format: every line and source kind, the entry count, and malformed lines.</summary>
public sealed class WeightRecipeTests
{
    private static RecipeLine Single(string text)
    {
        var recipe = WeightRecipe.Parse(text);
        return Assert.Single(recipe.Lines);
    }

    [Fact]
    public void TensorLine_IsOneEntryAsStored()
    {
        var line = Single("ln_gamma tensor encoder.layernorm.weight");
        Assert.Equal("ln_gamma", line.Label);
        Assert.Equal("encoder.layernorm.weight", line.Tensor);
        Assert.Equal(WeightPacking.None, line.Packing);
        Assert.Null(line.Source);
        Assert.Equal(1, line.EntryCount);
    }

    [Theory]
    [InlineData("none", WeightPacking.None)]
    [InlineData("pointwise", WeightPacking.Pointwise)]
    [InlineData("conv2d", WeightPacking.Conv2D)]
    [InlineData("winograd", WeightPacking.Winograd)]
    public void ConvLine_ReadsPackingAndShape(string token, WeightPacking packing)
    {
        var line = Single($"c conv {token} 3 16 5 plain c.weight c.bias");
        Assert.Null(line.Tensor);
        Assert.Equal(packing, line.Packing);
        Assert.Equal((3, 16, 5), (line.InChannels, line.OutChannels, line.KernelSize));
        Assert.Equal(2, line.EntryCount);
    }

    [Theory]
    [InlineData("plain c.weight c.bias")]
    [InlineData("bn c.weight c.norm 1E-05")]
    [InlineData("qkv q k v qb kb vb")]
    [InlineData("merge 5 plain a.w - plain b.w b.b")]
    public void Int8Line_IsA1x1WithAnySource(string source)
    {
        var line = Single($"c conv int8 12 16 1 {source}");
        Assert.Equal(WeightPacking.Int8, line.Packing);
        Assert.Equal((12, 16, 1), (line.InChannels, line.OutChannels, line.KernelSize));
        Assert.Equal(2, line.EntryCount);
    }

    [Fact]
    public void PlainSource_WithAndWithoutBias()
    {
        var withBias = Assert.IsType<RecipeSource.Plain>(Single("c conv none 4 2 1 plain w b").Source);
        Assert.Equal(("w", "b"), (withBias.Weight, withBias.Bias));
        var noBias = Assert.IsType<RecipeSource.Plain>(Single("c conv none 4 2 1 plain w -").Source);
        Assert.Equal("w", noBias.Weight);
        Assert.Null(noBias.Bias);
    }

    [Theory]
    [InlineData("1E-05", 1e-5f)]
    [InlineData("0.001", 0.001f)]
    [InlineData("0", 0f)]
    public void BatchNormSource_ReadsWeightPrefixAndEpsilon(string epsilon, float expected)
    {
        var bn = Assert.IsType<RecipeSource.BatchNorm>(Single($"stem conv conv2d 3 16 3 bn stem.conv.weight stem.norm {epsilon}").Source);
        Assert.Equal("stem.conv.weight", bn.Weight);
        Assert.Equal("stem.norm", bn.NormPrefix);
        Assert.Equal(expected, bn.Epsilon);
    }

    [Fact]
    public void QueryKeyValueSource_WithBiases()
    {
        var qkv = Assert.IsType<RecipeSource.QueryKeyValue>(Single("a conv pointwise 8 24 1 qkv q.w k.w v.w q.b k.b v.b").Source);
        Assert.Equal(["q.w", "k.w", "v.w"], qkv.Weights);
        Assert.Equal(new string?[] { "q.b", "k.b", "v.b" }, qkv.Biases.AsEnumerable());
    }

    [Fact]
    public void QueryKeyValueSource_WithoutBiases()
    {
        var qkv = Assert.IsType<RecipeSource.QueryKeyValue>(Single("a conv pointwise 8 24 1 qkv q.w k.w v.w - - -").Source);
        Assert.Equal(["q.w", "k.w", "v.w"], qkv.Weights);
        Assert.All(qkv.Biases, Assert.Null);
    }

    [Fact]
    public void MergeSource_NestsTwoSources()
    {
        var merge = Assert.IsType<RecipeSource.Merge>(
            Single("m conv pointwise 4 6 1 merge 5 bn a.w a.norm 1E-05 merge 3 plain b.w - qkv q k v qb kb vb").Source);
        Assert.Equal(5, merge.Middle);
        var first = Assert.IsType<RecipeSource.BatchNorm>(merge.First);
        Assert.Equal(("a.w", "a.norm", 1e-5f), (first.Weight, first.NormPrefix, first.Epsilon));
        var second = Assert.IsType<RecipeSource.Merge>(merge.Second);
        Assert.Equal(3, second.Middle);
        Assert.Equal(new RecipeSource.Plain("b.w", null), second.First);
        var qkv = Assert.IsType<RecipeSource.QueryKeyValue>(second.Second);
        Assert.Equal(["q", "k", "v"], qkv.Weights);
    }

    [Fact]
    public void EntryCount_IsOnePerTensorLineAndTwoPerConvLine_BlankLinesAndSpacesIgnored()
    {
        var recipe = WeightRecipe.Parse("""

            a tensor x
              b   conv  none 1 1 1   plain w -
            c tensor y

            d conv pointwise 2 2 1 merge 2 plain w1 b1 plain w2 b2
            """.Replace("\n", "\r\n"));
        Assert.Equal(["a", "b", "c", "d"], recipe.Lines.Select(l => l.Label));
        Assert.Equal(1 + 2 + 1 + 2, recipe.EntryCount);
        Assert.Equal(0, WeightRecipe.Parse("").EntryCount);
    }

    [Theory]
    [InlineData("x lstm w", "unknown kind 'lstm'")]
    [InlineData("x conv sparse 1 1 1 plain w -", "unknown packing 'sparse'")]
    [InlineData("x conv none 1 1 1 fold w -", "unknown source 'fold'")]
    [InlineData("x", "ends early")]
    [InlineData("x tensor", "ends early")]
    [InlineData("x conv none 1 1", "ends early")]
    [InlineData("x conv none 1 1 1 plain w", "ends early")]
    [InlineData("x conv none 1 1 1 bn w n", "ends early")]
    [InlineData("x conv none 1 1 1 qkv q k v qb kb", "ends early")]
    [InlineData("x conv none 1 1 1 merge 2 plain w -", "ends early")]
    [InlineData("x conv none 0 1 1 plain w -", "'0' is not a positive integer")]
    [InlineData("x conv none 1 -3 1 plain w -", "'-3' is not a positive integer")]
    [InlineData("x conv none 1 1 +1 plain w -", "'+1' is not a positive integer")]
    [InlineData("x conv none 1 1 one plain w -", "'one' is not a positive integer")]
    [InlineData("x conv none 1 1 99999999999 plain w -", "'99999999999' is not a positive integer")]
    [InlineData("x conv none 1 1 1 merge 0 plain a - plain b -", "'0' is not a positive integer")]
    [InlineData("x conv none 1 1 1 bn w n eps", "'eps' is not a number")]
    [InlineData("x tensor a b", "unexpected 'b'")]
    [InlineData("x conv none 1 1 1 plain w b extra", "unexpected 'extra'")]
    [InlineData("x conv none 1 1 1 merge 2 plain a - plain b - plain c -", "unexpected 'plain'")]
    public void MalformedLine_IsAFormatExceptionNamingTheLineNumber(string bad, string problem)
    {
        // The bad line is line 4: two good lines and a blank line before it (blank lines still count).
        string text = "a tensor x\nb conv none 1 1 1 plain w -\n\n" + bad + "\nc tensor y\n";
        var e = Assert.Throws<FormatException>(() => WeightRecipe.Parse(text));
        Assert.Equal($"weight recipe line 4: {problem}", e.Message);
    }
}
