using MobileViT.Compiled.Tests.Compiled;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>The generated factories and Run's argument checks.</summary>
public class ModelLoadTests
{
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("mobilevit-xx-small-fashion")]
    public void LoadFromFileGivesTheSameResultsAsEmbeddedWeights(string model)
    {
        using var embedded = CompiledModels.Create(model);
        using var loaded = model == "mobilevit-xx-small"
            ? (ICompiledModel)MobileViTXXSmall.Load(CompiledModels.WeightsPath(model), 1)
            : FashionMobileViT.Load(CompiledModels.WeightsPath(model), 1);
        var input = new float[embedded.InputChannels * embedded.InputHeight * embedded.InputWidth];
        var random = new Random(42);
        for (int i = 0; i < input.Length; i++) input[i] = random.NextSingle();
        var a = new float[embedded.OutputLength];
        var b = new float[loaded.OutputLength];
        embedded.Run(input, a);
        loaded.Run(input, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRefusedNamingTheTensor()
    {
        var e = Assert.Throws<ModelLoadException>(() => MobileViTXXSmall.Load(CompiledModels.WeightsPath("mobilevit-x-small")));
        Assert.NotNull(e.Tensor);
        Assert.Contains(e.Tensor!, e.Message);
        Assert.Contains("another architecture", e.Message);
    }

    [Fact]
    public void FashionWeightsIntoTheImageNetModelAreRefused()
    {
        // Same backbone sizes, different input channels and classifier: the first mismatching tensor is named.
        var e = Assert.Throws<ModelLoadException>(() => MobileViTXXSmall.Load(CompiledModels.WeightsPath("mobilevit-xx-small-fashion")));
        Assert.Contains("has shape", e.Message);
    }

    [Fact]
    public void MissingFileIsAModelLoadException()
    {
        var e = Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load("/nonexistent/model.safetensors"));
        Assert.Contains("/nonexistent/model.safetensors", e.Message);
    }

    [Fact]
    public void RunRejectsSpansOfTheWrongLength()
    {
        using var model = FashionMobileViT.Create();
        Assert.Throws<ArgumentException>(() => model.Run(new float[FashionMobileViT.InputLength - 1], new float[10]));
        Assert.Throws<ArgumentException>(() => model.Run(new float[FashionMobileViT.InputLength], new float[9]));
        Assert.Throws<ArgumentException>(() => model.Run(new float[FashionMobileViT.InputLength], new float[11]));
    }

    [Fact]
    public void RunAfterDisposeThrows()
    {
        var model = FashionMobileViT.Create();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Run(new float[FashionMobileViT.InputLength], new float[10]));
    }

    [Fact]
    public void NegativeThreadCountIsRejected()
        => Assert.Throws<ArgumentOutOfRangeException>(() => FashionMobileViT.Create(-1));

    [Fact]
    public void GeneratedSurfaceMatchesTheContract()
    {
        Assert.Equal(1, FashionMobileViT.InputChannels);
        Assert.Equal(64, FashionMobileViT.InputHeight);
        Assert.Equal(64, FashionMobileViT.InputWidth);
        Assert.Equal(10, FashionMobileViT.OutputLength);
        Assert.Equal("T-shirt/top", FashionMobileViT.Labels[0]);
        Assert.Equal("Ankle boot", FashionMobileViT.Labels[9]);
        Assert.Equal(1000, MobileViTSmall.Labels.Count);
        Assert.Equal(3, MobileViTSmall.InputChannels);
        Assert.Equal(256, MobileViTSmall.InputHeight);
    }
}

/// <summary>The worker pool splits work so that every output is computed by one thread in the same order.</summary>
public class ThreadCountTests
{
    [Theory]
    [InlineData("mobilevit-xx-small")]
    [InlineData("mobilevitv2-0.5")]
    [InlineData("mobilevit-xx-small-fashion")]
    public void TwoThreadsGiveBitwiseTheSameLogitsAsOne(string model)
    {
        using var one = CompiledModels.Create(model, threads: 1);
        using var two = CompiledModels.Create(model, threads: 2);
        var input = new float[one.InputChannels * one.InputHeight * one.InputWidth];
        var random = new Random(7);
        for (int i = 0; i < input.Length; i++) input[i] = random.NextSingle();
        var a = new float[one.OutputLength];
        var b = new float[two.OutputLength];
        one.Run(input, a);
        two.Run(input, b);
        Assert.Equal(a, b);
    }
}
