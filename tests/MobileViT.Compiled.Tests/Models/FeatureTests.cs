using MobileViT.Compiled.Testing;
using MobileViT.Compiled.Tests.Compiled;
using Xunit.Abstractions;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>
/// RunFeatures (the pooled features, Hugging Face's pooler_output) of every classifier, and of the headless backbones
/// compiled from the same configs with architectures MobileViTModel / MobileViTV2Model.
/// </summary>
public class FeatureTests(ITestOutputHelper log)
{
    public static TheoryData<string, string> Classifiers() => new()
    {
        { "mobilevit-xx-small", "rand0" }, { "mobilevit-x-small", "smooth" }, { "mobilevit-small", "photo_chelsea" },
        { "mobilevitv2-0.5", "rand1" }, { "mobilevit-xx-small-fashion", "test16" },
    };

    /// <summary>The classifier (classifier.weight, classifier.bias of the weights file) applied to the features gives Run's logits.</summary>
    [Theory]
    [MemberData(nameof(Classifiers))]
    public void ClassifierOfTheFeaturesIsRunsLogits(string model, string input)
    {
        using var network = CompiledModels.Create(model);
        var extractor = Assert.IsAssignableFrom<IFeatureExtractor>(network);
        var pixels = Input(model, input);
        var features = new float[extractor.FeatureLength];
        extractor.RunFeatures(pixels, features);
        var logits = new float[network.OutputLength];
        network.Run(pixels, logits);

        string weights = CompiledModels.WeightsPath(model);
        var classified = Linear(features, Fixtures.Read(weights, "classifier.weight"), Fixtures.Read(weights, "classifier.bias"));
        double worst = 0, largest = 1;
        for (int i = 0; i < logits.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(classified[i] - logits[i]));
            largest = Math.Max(largest, Math.Abs(logits[i]));
        }
        log.WriteLine($"{model}/{input}: {features.Length} features; classifier(features) vs Run: max |diff| {worst:E2} (max |logit| {largest:F2})");
        Assert.True(worst <= 1e-5 * largest, $"max |diff| {worst} > 1e-5 x {largest}");
    }

    /// <summary>MobileViTV2's pooler_output is the spatial mean of its last hidden state (no 1x1 expansion after it).</summary>
    [Fact]
    public void MobileViTV2FeaturesAreTheMeanOfTheLastHiddenState()
    {
        using var network = MobileViTV2Half.Create(1);
        var features = new float[MobileViTV2Half.FeatureLength];
        network.RunFeatures(Fixtures.Read(Fixtures.Inputs256, "input.rand0"), features);
        AssertMeanOfLastHiddenState(features);
    }

    /// <summary>The headless V2 backbone: the same features as the classifier's, so the same reference.</summary>
    [Fact]
    public void HeadlessMobileViTV2BackboneGivesTheReferenceFeatures()
    {
        using var backbone = LoadBackbone("mobilevitv2-0.5", "mobilevitv2.", (path, threads) => MobileViTV2HalfBackbone.Load(path, threads));
        Assert.Equal(256, MobileViTV2HalfBackbone.FeatureLength);
        var features = new float[MobileViTV2HalfBackbone.FeatureLength];
        backbone.RunFeatures(Fixtures.Read(Fixtures.Inputs256, "input.rand0"), features);
        AssertMeanOfLastHiddenState(features);
    }

    /// <summary>The headless MobileViT backbone (with its 1x1 expansion) gives exactly the classifier's features.</summary>
    [Fact]
    public void HeadlessMobileViTBackboneGivesTheClassifiersFeatures()
    {
        using var backbone = LoadBackbone("mobilevit-xx-small", "mobilevit.", (path, threads) => MobileViTXXSmallBackbone.Load(path, threads));
        using var classifier = MobileViTXXSmall.Create(1);
        var pixels = Fixtures.Read(Fixtures.Inputs256, "input.photo_chelsea");
        var expected = new float[MobileViTXXSmall.FeatureLength];
        var actual = new float[MobileViTXXSmallBackbone.FeatureLength];
        classifier.RunFeatures(pixels, expected);
        backbone.RunFeatures(pixels, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void RunFeaturesAllocatesNothing()
    {
        using var network = MobileViTV2Half.Create(1);
        var pixels = Fixtures.Read(Fixtures.Inputs256, "input.rand0");
        var features = new float[MobileViTV2Half.FeatureLength];
        for (int i = 0; i < 5; i++) network.RunFeatures(pixels, features); // warm-up: JIT, tiering, lazy statics
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) network.RunFeatures(pixels, features);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void WrongLengthsAreArgumentExceptions()
    {
        using var network = MobileViTV2Half.Create(1);
        var pixels = new float[MobileViTV2Half.InputLength];
        Assert.Throws<ArgumentException>("features", () => network.RunFeatures(pixels, new float[MobileViTV2Half.FeatureLength + 1]));
        Assert.Throws<ArgumentException>("pixelValues", () => network.RunFeatures(pixels.AsSpan(1), new float[MobileViTV2Half.FeatureLength]));
    }

    private static void AssertMeanOfLastHiddenState(float[] features)
    {
        var hidden = Fixtures.Reference("mobilevitv2-0.5", "hidden_states.4.rand0"); // [1, 256, 8, 8]
        int pixels = hidden.Length / features.Length;
        var mean = new float[features.Length];
        for (int c = 0; c < mean.Length; c++)
        {
            double sum = 0;
            for (int p = 0; p < pixels; p++) sum += hidden[c * pixels + p];
            mean[c] = (float)(sum / pixels);
        }
        var (error, bound) = Fixtures.Compare(features, mean);
        Assert.True(error <= bound, $"features vs mean of hidden_states.4: max |diff| {error} > {bound}");
    }

    private static T LoadBackbone<T>(string model, string prefix, Func<string, int, T> load)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mobilevit-backbone-{Guid.NewGuid()}.safetensors");
        File.WriteAllBytes(path, HeadlessCheckpoint.FromClassifier(File.ReadAllBytes(CompiledModels.WeightsPath(model)), prefix));
        try { return load(path, 1); }
        finally { File.Delete(path); }
    }

    private static float[] Input(string model, string input) => input == "test16"
        ? Fixtures.Reference(model, "input.test16").AsSpan(0, 64 * 64).ToArray()
        : Fixtures.Read(Fixtures.Inputs256, "input." + input);

    private static double[] Linear(float[] x, float[] weight, float[] bias)
    {
        var y = new double[bias.Length];
        for (int j = 0; j < y.Length; j++)
        {
            double sum = bias[j];
            for (int i = 0; i < x.Length; i++) sum += (double)weight[j * x.Length + i] * x[i];
            y[j] = sum;
        }
        return y;
    }
}
