using MobileViT.Compiled.IO;

namespace MobileViT.Compiled.Tests.IO;

/// <summary>BatchNorm folding, two 1x1 convolutions multiplied into one, and concatenation, checked against numbers worked out by hand.</summary>
public sealed class WeightPreparationTests
{
    private static WeightSet Weights(SafetensorsTestFile file, params ExpectedTensor[] expected)
        => WeightLoader.Load(new MemoryStream(file.ToBytes()), "bn.safetensors", expected);

    [Fact]
    public void FoldBatchNorm_ScalesEachOutputChannelAndShiftsTheBias()
    {
        // Two output channels of a 1x1 convolution with three inputs, epsilon 0.01:
        // channel 0: gamma 2, var 3.99 -> scale 2 / sqrt(4) = 1; bias = beta - mean * scale = 1 - 0.5 * 1 = 0.5
        // channel 1: gamma 6, var 8.99 -> scale 6 / sqrt(9) = 2; bias = -1 - (-2) * 2 = 3; weights doubled
        var set = Weights(new SafetensorsTestFile()
                .F32("conv.weight", [2, 3, 1, 1], 1, 2, 3, -1, 0.5f, 4)
                .F32("bn.weight", [2], 2, 6)
                .F32("bn.bias", [2], 1, -1)
                .F32("bn.running_mean", [2], 0.5f, -2)
                .F32("bn.running_var", [2], 3.99f, 8.99f),
            new ExpectedTensor("conv.weight", 2, 3, 1, 1), new ExpectedTensor("bn.weight", 2), new ExpectedTensor("bn.bias", 2),
            new ExpectedTensor("bn.running_mean", 2), new ExpectedTensor("bn.running_var", 2));

        var (weight, bias) = WeightPreparation.FoldBatchNorm(set, "conv.weight", "bn", outChannels: 2, epsilon: 0.01f);

        float[] expectedWeight = [1, 2, 3, -2, 1, 8];
        float[] expectedBias = [0.5f, 3];
        for (int i = 0; i < expectedWeight.Length; i++) Assert.Equal(expectedWeight[i], weight[i], 1e-5f);
        for (int i = 0; i < expectedBias.Length; i++) Assert.Equal(expectedBias[i], bias[i], 1e-5f);
        // The originals are untouched (the same WeightSet may feed more than one fold).
        Assert.Equal([1f, 2, 3, -1, 0.5f, 4], set.Get("conv.weight"));
    }

    [Fact]
    public void FoldBatchNorm_MatchesTheUnfoldedComputation()
    {
        var random = new Random(7);
        const int outChannels = 4, perChannel = 5;
        float[] Random(int n, float lo, float hi) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * random.NextSingle()).ToArray();
        float[] w = Random(outChannels * perChannel, -1, 1), gamma = Random(outChannels, 0.5f, 2), beta = Random(outChannels, -1, 1),
            mean = Random(outChannels, -1, 1), variance = Random(outChannels, 0.1f, 3), x = Random(perChannel, -1, 1);
        var set = Weights(new SafetensorsTestFile()
                .F32("c.weight", [outChannels, perChannel], w).F32("n.weight", [outChannels], gamma).F32("n.bias", [outChannels], beta)
                .F32("n.running_mean", [outChannels], mean).F32("n.running_var", [outChannels], variance),
            new ExpectedTensor("c.weight", outChannels, perChannel), new ExpectedTensor("n.weight", outChannels),
            new ExpectedTensor("n.bias", outChannels), new ExpectedTensor("n.running_mean", outChannels), new ExpectedTensor("n.running_var", outChannels));
        const float eps = 1e-5f;

        var (folded, bias) = WeightPreparation.FoldBatchNorm(set, "c.weight", "n", outChannels, eps);

        for (int c = 0; c < outChannels; c++)
        {
            double conv = 0, foldedConv = bias[c];
            for (int i = 0; i < perChannel; i++)
            {
                conv += w[c * perChannel + i] * x[i];
                foldedConv += folded[c * perChannel + i] * x[i];
            }
            double normalized = (conv - mean[c]) / Math.Sqrt(variance[c] + eps) * gamma[c] + beta[c];
            Assert.Equal(normalized, foldedConv, 1e-5);
        }
    }

    [Fact]
    public void FoldBatchNorm_MissingStatistic_IsAModelLoadExceptionNamingIt()
    {
        var set = Weights(new SafetensorsTestFile().F32("c.weight", [1, 1], 1).F32("n.weight", [1], 1),
            new ExpectedTensor("c.weight", 1, 1), new ExpectedTensor("n.weight", 1));
        var e = Assert.Throws<ModelLoadException>(() => WeightPreparation.FoldBatchNorm(set, "c.weight", "n", 1, 1e-5f));
        Assert.Equal("n.bias", e.Tensor);
    }

    [Fact]
    public void MultiplyPointwise_HandWorked()
    {
        // 2 -> 2 -> 1: w1 = [[1, 2], [3, 4]], b1 = [1, -1]; w2 = [[2, -1]], b2 = [0.5]
        // W = [2*1 - 1*3, 2*2 - 1*4] = [-1, 0]; b = 2*1 - 1*(-1) + 0.5 = 3.5
        var (weight, bias) = WeightPreparation.MultiplyPointwise([2, -1], [0.5f], [1, 2, 3, 4], [1, -1], inChannels: 2, middle: 2, outChannels: 1);
        Assert.Equal([-1f, 0], weight);
        Assert.Equal([3.5f], bias);
    }

    [Fact]
    public void MultiplyPointwise_MatchesTheTwoConvolutionsInARow()
    {
        var random = new Random(11);
        const int inChannels = 5, middle = 7, outChannels = 3, pixels = 9;
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        float[] w1 = Random(middle * inChannels), b1 = Random(middle), w2 = Random(outChannels * middle), b2 = Random(outChannels);
        float[] x = Random(inChannels * pixels);

        var (weight, bias) = WeightPreparation.MultiplyPointwise(w2, b2, w1, b1, inChannels, middle, outChannels);

        for (int p = 0; p < pixels; p++)
            for (int o = 0; o < outChannels; o++)
            {
                double twoSteps = b2[o], merged = bias[o];
                for (int m = 0; m < middle; m++)
                {
                    double hidden = b1[m];
                    for (int i = 0; i < inChannels; i++) hidden += (double)w1[m * inChannels + i] * x[i * pixels + p];
                    twoSteps += w2[o * middle + m] * hidden;
                }
                for (int i = 0; i < inChannels; i++) merged += (double)weight[o * inChannels + i] * x[i * pixels + p];
                Assert.Equal(twoSteps, merged, 1e-5);
            }
    }

    [Fact]
    public void MultiplyPointwise_ShapesThatDoNotChain_Throw()
        => Assert.Throws<ArgumentException>(() => WeightPreparation.MultiplyPointwise([1, 2], [0], [1, 2, 3], [1, 1], 2, 2, 1));

    [Fact]
    public void Concatenate_JoinsAlongTheFirstAxis()
        => Assert.Equal([1f, 2, 3, 4, 5, 6], WeightPreparation.Concatenate([1, 2], [], [3, 4, 5], [6]));
}
