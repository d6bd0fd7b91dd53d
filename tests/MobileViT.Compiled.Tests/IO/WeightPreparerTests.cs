using System.Runtime.InteropServices;
using MobileViT.Compiled.IO;
using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>
/// WeightPreparer on a small hand-made safetensors file, read memory-mapped (as Load does) and from a WeightSet: each
/// recipe line gives bit for bit what WeightPreparation and the kernels' packers give when called directly.
/// </summary>
public sealed class WeightPreparerTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mobilevit-preparer-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<ExpectedTensor> _expected = [];
    private readonly SafetensorsTestFile _file = new();
    private readonly Random _random = new(1234);

    public WeightPreparerTests()
    {
        Directory.CreateDirectory(_directory);
        Add("ln.weight", 5);
        Add("lin.weight", 3, 4);                                // linear 4 -> 3, no bias
        Add("pw.weight", 11, 4, 1, 1); Add("pw.bias", 11);      // 1x1 4 -> 11 (more than one 8-row panel)
        Add("c3.weight", 10, 3, 3, 3); Norm("c3.norm", 10);     // 3x3 3 -> 10, BatchNorm
        Add("wg.weight", 9, 5, 3, 3); Norm("wg.norm", 9);       // 3x3 5 -> 9, BatchNorm, Winograd
        foreach (string p in new[] { "q", "k", "v" }) { Add(p + ".weight", 4, 4); Add(p + ".bias", 4); }
        Add("m1.weight", 7, 5, 1, 1); Norm("m1.norm", 7);       // 5 -> 7, BatchNorm
        Add("m2.weight", 3, 7, 1, 1); Add("m2.bias", 3);        // 7 -> 3
        Add("n1.weight", 6, 5); Add("n1.bias", 6);              // 5 -> 6 ...
        Add("n2.weight", 2, 6);                                 // ... -> 2 (no bias) ...
        Add("n3.weight", 3, 2); Add("n3.bias", 3);              // ... -> 3
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const string Recipe = """
        ln tensor ln.weight
        lin conv none 4 3 1 plain lin.weight -
        pw conv pointwise 4 11 1 plain pw.weight pw.bias
        c3 conv conv2d 3 10 3 bn c3.weight c3.norm 1E-05
        wg conv winograd 5 9 3 bn wg.weight wg.norm 0.001
        qkv conv pointwise 4 12 1 qkv q.weight k.weight v.weight q.bias k.bias v.bias
        kv conv pointwise 4 12 1 qkv q.weight k.weight v.weight - - -
        m conv pointwise 5 3 1 merge 7 bn m1.weight m1.norm 1E-05 plain m2.weight m2.bias
        q8 conv int8 4 11 1 plain pw.weight pw.bias
        m8 conv int8 5 3 1 merge 7 bn m1.weight m1.norm 1E-05 plain m2.weight m2.bias
        c8 conv int8 3 10 3 bn c3.weight c3.norm 1E-05
        """;

    private void Add(string name, params int[] shape)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++) values[i] = _random.NextSingle() * 2 - 1;
        _file.F32(name, shape, values);
        _expected.Add(new ExpectedTensor(name, shape));
    }

    private void Norm(string prefix, int channels)
    {
        Add(prefix + ".weight", channels);
        Add(prefix + ".bias", channels);
        Add(prefix + ".running_mean", channels);
        var variance = new float[channels];
        for (int i = 0; i < channels; i++) variance[i] = 0.1f + 2 * _random.NextSingle();
        _file.F32(prefix + ".running_var", [channels], variance);
        _expected.Add(new ExpectedTensor(prefix + ".running_var", channels));
    }

    private MappedSafetensors Mapped()
    {
        string path = Path.Combine(_directory, "small.safetensors");
        if (!File.Exists(path)) File.WriteAllBytes(path, _file.ToBytes());
        return MappedSafetensors.Open(path, _expected);
    }

    private WeightSet Set() => WeightLoader.Load(new MemoryStream(_file.ToBytes()), "small.safetensors", _expected);

    private static void AssertBitIdentical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(MemoryMarshal.AsBytes(expected).SequenceEqual(MemoryMarshal.AsBytes(actual)), "not bit-identical");
    }

    private static float[][] Prepare(string recipe, ITensorSource source) => WeightPreparer.Prepare(WeightRecipe.Parse(recipe), source);

    [Fact]
    public void TensorLine_IsTheTensorAsStored()
    {
        using var mapped = Mapped();
        var entries = Prepare("ln tensor ln.weight", mapped);
        AssertBitIdentical(Set().Get("ln.weight"), Assert.Single(entries));
    }

    [Fact]
    public void PlainWithoutBias_UnpackedWithZeroBias()
    {
        using var mapped = Mapped();
        var entries = Prepare("lin conv none 4 3 1 plain lin.weight -", mapped);
        AssertBitIdentical(Set().Get("lin.weight"), entries[0]);
        AssertBitIdentical(new float[3], entries[1]);
    }

    [Fact]
    public void PlainWithBias_PackedForTheGemm()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("pw conv pointwise 4 11 1 plain pw.weight pw.bias", mapped);
        AssertBitIdentical(PointwiseConv.PackWeights(set.Get("pw.weight"), 4, 11), entries[0]);
        AssertBitIdentical(set.Get("pw.bias"), entries[1]);
    }

    [Fact]
    public void BatchNorm_FoldedThenPackedForConv2D()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("c3 conv conv2d 3 10 3 bn c3.weight c3.norm 1E-05", mapped);
        var (weight, bias) = WeightPreparation.FoldBatchNorm(set, "c3.weight", "c3.norm", 10, 1e-5f);
        AssertBitIdentical(Conv2D.PackWeights(weight, 3, 10, 3), entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void BatchNorm_FoldedThenWinogradTransformed()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("wg conv winograd 5 9 3 bn wg.weight wg.norm 0.001", mapped);
        var (weight, bias) = WeightPreparation.FoldBatchNorm(set, "wg.weight", "wg.norm", 9, 0.001f);
        AssertBitIdentical(WinogradConv2D.PackWeights(weight, 5, 9), entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void QueryKeyValue_WithBiases_ConcatenatedThenPacked()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("qkv conv pointwise 4 12 1 qkv q.weight k.weight v.weight q.bias k.bias v.bias", mapped);
        var weight = WeightPreparation.Concatenate(set.Get("q.weight"), set.Get("k.weight"), set.Get("v.weight"));
        AssertBitIdentical(PointwiseConv.PackWeights(weight, 4, 12), entries[0]);
        AssertBitIdentical(WeightPreparation.Concatenate(set.Get("q.bias"), set.Get("k.bias"), set.Get("v.bias")), entries[1]);
    }

    [Fact]
    public void QueryKeyValue_WithoutBiases_ZeroBias()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("qkv conv pointwise 4 12 1 qkv q.weight k.weight v.weight - - -", mapped);
        var weight = WeightPreparation.Concatenate(set.Get("q.weight"), set.Get("k.weight"), set.Get("v.weight"));
        AssertBitIdentical(PointwiseConv.PackWeights(weight, 4, 12), entries[0]);
        AssertBitIdentical(new float[12], entries[1]);
    }

    [Fact]
    public void Merge_BatchNormThenPlain_MultipliedThenPacked()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("m conv pointwise 5 3 1 merge 7 bn m1.weight m1.norm 1E-05 plain m2.weight m2.bias", mapped);
        var (w1, b1) = WeightPreparation.FoldBatchNorm(set, "m1.weight", "m1.norm", 7, 1e-5f);
        var (weight, bias) = WeightPreparation.MultiplyPointwise(set.Get("m2.weight"), set.Get("m2.bias"), w1, b1, 5, 7, 3);
        AssertBitIdentical(PointwiseConv.PackWeights(weight, 5, 3), entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void Int8_QuantizedAndEncoded_BiasStaysFloat()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("q8 conv int8 4 11 1 plain pw.weight pw.bias", mapped);
        AssertBitIdentical(QuantizedWeights.Encode(set.Get("pw.weight"), 4, 11), entries[0]);
        Assert.Equal(QuantizedWeights.EncodedLength(4, 11), entries[0].Length);
        AssertBitIdentical(set.Get("pw.bias"), entries[1]);
    }

    [Fact]
    public void Int8_Merge_MultipliedThenEncoded()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("m8 conv int8 5 3 1 merge 7 bn m1.weight m1.norm 1E-05 plain m2.weight m2.bias", mapped);
        var (w1, b1) = WeightPreparation.FoldBatchNorm(set, "m1.weight", "m1.norm", 7, 1e-5f);
        var (weight, bias) = WeightPreparation.MultiplyPointwise(set.Get("m2.weight"), set.Get("m2.bias"), w1, b1, 5, 7, 3);
        AssertBitIdentical(QuantizedWeights.Encode(weight, 5, 3), entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void Int8_Conv3x3_FoldedThenEncodedAsOutByInTimesNine()
    {
        using var mapped = Mapped();
        var set = Set();
        var entries = Prepare("c8 conv int8 3 10 3 bn c3.weight c3.norm 1E-05", mapped);
        var (weight, bias) = WeightPreparation.FoldBatchNorm(set, "c3.weight", "c3.norm", 10, 1e-5f);
        Assert.Equal(QuantizedWeights.EncodedLength(3 * 9, 10), entries[0].Length);
        AssertBitIdentical(QuantizedWeights.Encode(weight, 3 * 9, 10), entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void Merge_Nested_ThreeLinearsInARow()
    {
        using var mapped = Mapped();
        var set = Set();
        // 5 -> 6 -> 2 -> 3: merge 6 (n1) (merge 2 (n2, no bias) (n3)), unpacked.
        var entries = Prepare("n conv none 5 3 1 merge 6 plain n1.weight n1.bias merge 2 plain n2.weight - plain n3.weight n3.bias", mapped);
        var (w23, b23) = WeightPreparation.MultiplyPointwise(set.Get("n3.weight"), set.Get("n3.bias"), set.Get("n2.weight"), new float[2], 6, 2, 3);
        var (weight, bias) = WeightPreparation.MultiplyPointwise(w23, b23, set.Get("n1.weight"), set.Get("n1.bias"), 5, 6, 3);
        AssertBitIdentical(weight, entries[0]);
        AssertBitIdentical(bias, entries[1]);
    }

    [Fact]
    public void WholeRecipe_EntriesInOrder_SameFromMappedFileAndWeightSet()
    {
        var recipe = WeightRecipe.Parse(Recipe);
        using var mapped = Mapped();
        var fromFile = WeightPreparer.Prepare(recipe, mapped);
        var fromSet = WeightPreparer.Prepare(recipe, Set());
        Assert.Equal(recipe.EntryCount, fromFile.Length);
        Assert.Equal(1 + 2 * 10, fromFile.Length);
        for (int i = 0; i < fromFile.Length; i++) AssertBitIdentical(fromSet[i], fromFile[i]);
        // Spot-check the order: the single tensor first, the last conv's bias last.
        AssertBitIdentical(Set().Get("ln.weight"), fromFile[0]);
        Assert.Equal(10, fromFile[^1].Length);
    }

    [Fact]
    public void EntryLengths_AreTheLengthsPrepareGives_WithoutTheData()
    {
        var recipe = WeightRecipe.Parse(Recipe + "\nn conv none 5 3 1 merge 6 plain n1.weight n1.bias merge 2 plain n2.weight - plain n3.weight n3.bias\n");
        using var mapped = Mapped();
        var entries = WeightPreparer.Prepare(recipe, mapped);
        Assert.Equal(entries.Select(e => (long)e.Length), WeightPreparer.EntryLengths(recipe, _expected));
    }

    [Fact]
    public void EntryLengths_TensorNotExpected_IsMinusOne()
        => Assert.Equal([-1L], WeightPreparer.EntryLengths(WeightRecipe.Parse("x tensor nope"), _expected));

    [Fact]
    public void TensorMissingFromTheSource_IsAModelLoadExceptionNamingIt()
    {
        using var mapped = Mapped();
        var e = Assert.Throws<ModelLoadException>(() => Prepare("x conv none 1 1 1 plain nope.weight -", mapped));
        Assert.Equal("nope.weight", e.Tensor);
    }
}
