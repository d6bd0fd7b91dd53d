using Xunit.Abstractions;
using MobileViT.Compiled.Tests.Compiled;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>
/// The compiled fixture models against the reference implementation (Hugging Face transformers, PyTorch fp32):
/// max|ours - ref| &lt;= 1e-4 * max(1, max|ref|) and the same top-5 in the same order, on every reference input.
/// </summary>
public class ModelAccuracyTests(ITestOutputHelper log)
{
    public static TheoryData<string, string> ImageNetCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small" })
            foreach (var input in new[] { "rand0", "rand1", "smooth", "photo_chelsea" })
                data.Add(model, input);
        foreach (var input in new[] { "rand0", "smooth", "photo_chelsea" })
            data.Add("mobilevitv2-0.5", input);
        return data;
    }

    [Theory]
    [MemberData(nameof(ImageNetCases))]
    public void LogitsMatchReference(string model, string input)
    {
        using var network = CompiledModels.Create(model);
        var pixels = Fixtures.Read(Fixtures.Inputs256, "input." + input);
        var expected = Fixtures.Reference(model, "logits." + input);
        var output = new float[expected.Length];
        network.Run(pixels, output);
        var (error, bound) = Fixtures.Compare(output, expected);
        log.WriteLine($"{model}/{input}: max |ours - ref| = {error:E3}, relative to max(1, max|ref|): {error / (bound / 1e-4f):E3}");
        Assert.True(error <= bound, $"{model}/{input}: max error {error} > {bound}");
        Assert.Equal(Fixtures.TopK(expected, 5), Fixtures.TopK(output, 5));
    }

    [Theory]
    [InlineData("mobilevit-xx-small", 0)]
    [InlineData("mobilevit-xx-small", 1)]
    [InlineData("mobilevit-xx-small", 2)]
    [InlineData("mobilevit-xx-small", 3)]
    [InlineData("mobilevit-xx-small", 4)]
    [InlineData("mobilevit-x-small", 4)]
    [InlineData("mobilevit-small", 4)]
    [InlineData("mobilevitv2-0.5", 0)]
    [InlineData("mobilevitv2-0.5", 1)]
    [InlineData("mobilevitv2-0.5", 2)]
    [InlineData("mobilevitv2-0.5", 3)]
    [InlineData("mobilevitv2-0.5", 4)]
    public void StageOutputsMatchReferenceHiddenStates(string model, int stage)
    {
        using var network = CompiledModels.Create(model);
        var expected = Fixtures.Reference(model, $"hidden_states.{stage}.rand0");
        float[]? actual = null;
        network.Run(Fixtures.Read(Fixtures.Inputs256, "input.rand0"), new float[network.OutputLength],
            (s, features, c, h, w) => { if (s == stage) actual = features.ToArray(); });
        Assert.NotNull(actual);
        var (error, bound) = Fixtures.Compare(actual, expected);
        Assert.True(error <= bound, $"{model} stage {stage}: max error {error} > {bound}");
    }

    [Fact]
    public void FashionModelMatchesReferenceOnSixteenTestImages()
    {
        using var network = CompiledModels.Create("mobilevit-xx-small-fashion");
        var inputs = Fixtures.Reference("mobilevit-xx-small-fashion", "input.test16");
        var logits = Fixtures.Reference("mobilevit-xx-small-fashion", "logits.test16");
        var output = new float[10];
        for (int i = 0; i < 16; i++)
        {
            network.Run(inputs.AsSpan(i * 64 * 64, 64 * 64), output);
            var expected = logits.AsSpan(i * 10, 10);
            var (error, bound) = Fixtures.Compare(output, expected);
            log.WriteLine($"fashion test image {i}: max |ours - ref| = {error:E3}, relative: {error / (bound / 1e-4f):E3}");
            Assert.True(error <= bound, $"image {i}: max error {error} > {bound}");
            Assert.Equal(Fixtures.TopK(expected, 5), Fixtures.TopK(output, 5));
        }
    }
}
