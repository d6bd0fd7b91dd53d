namespace MobileViT.Compiled.Tests.Compiled;

/// <summary>The fixture models compiled into this test assembly by the generator (see the .csproj's MobileViTModel items).</summary>
internal static class CompiledModels
{
    public static ICompiledModel Create(string model, int threads = 1) => model switch
    {
        "mobilevit-xx-small" => MobileViTXXSmall.Create(threads),
        "mobilevit-x-small" => MobileViTXSmall.Create(threads),
        "mobilevit-small" => MobileViTSmall.Create(threads),
        "mobilevit-xx-small-fashion" => FashionMobileViT.Create(threads),
        "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmall.Create(threads),
        "mobilevitv2-0.5" => MobileViTV2Half.Create(threads),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not compiled into the tests"),
    };

    /// <summary>The same fixture compiled with Precision="int8".</summary>
    public static ICompiledModel CreateInt8(string model, int threads = 1) => model switch
    {
        "mobilevit-xx-small" => MobileViTXXSmallInt8.Create(threads),
        "mobilevit-x-small" => MobileViTXSmallInt8.Create(threads),
        "mobilevit-small" => MobileViTSmallInt8.Create(threads),
        "mobilevit-xx-small-fashion" => FashionMobileViTInt8.Create(threads),
        "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmallInt8.Create(threads),
        "mobilevitv2-0.5" => MobileViTV2HalfInt8.Create(threads),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not compiled into the tests"),
    };

    /// <summary>The int8 model with its weights prepared at run time from the fixture's safetensors file.</summary>
    public static ICompiledModel LoadInt8(string model, int threads = 1) => model switch
    {
        "mobilevit-xx-small" => MobileViTXXSmallInt8.Load(WeightsPath(model), threads),
        "mobilevit-small" => MobileViTSmallInt8.Load(WeightsPath(model), threads),
        "deeplabv3-mobilevit-xx-small" => DeepLabV3MobileViTXXSmallInt8.Load(WeightsPath(model), threads),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "not listed for Load"),
    };

    public static string WeightsPath(string model) => Path.Combine(Models.Fixtures.ModelDirectory(model), "model.safetensors");
}
