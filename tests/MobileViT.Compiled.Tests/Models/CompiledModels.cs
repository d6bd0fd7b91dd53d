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

    public static string WeightsPath(string model) => Path.Combine(Models.Fixtures.ModelDirectory(model), "model.safetensors");
}
