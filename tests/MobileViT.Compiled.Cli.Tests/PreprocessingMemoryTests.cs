using MobileViT.Cli;
using MobileViT.Compiled.Imaging;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>
/// Preprocessing a large decoded image allocates little next to the image itself: no full-size float copy (4 bytes
/// per value, which used to be made before the bilinear resize and when no resize was asked for).
/// </summary>
public class PreprocessingMemoryTests
{
    private static RawImage Photo(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        new Random(7).NextBytes(pixels);
        return new RawImage(width, height, 3, pixels);
    }

    public static TheoryData<string> Models() => new() { "fashion", "mobilevit-xx-small", "no-resize" };

    private static (PreprocessorConfig Config, int Channels, int Size) Model(string name) => name switch
    {
        "fashion" => (ModelCatalog.Get("fashion").Preprocessor, 1, 64), // bilinear, no antialias, luma
        "mobilevit-xx-small" => (ModelCatalog.Get("mobilevit-xx-small").Preprocessor, 3, 256), // antialiased bicubic
        _ => (new PreprocessorConfig { DoResize = false, CropHeight = 256, CropWidth = 256 }, 3, 256), // center crop only
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void PreprocessingAllocatesLessThanHalfTheDecodedImage(string model)
    {
        var (config, channels, size) = Model(model);
        var image = Photo(2000, 1500);
        var output = new float[channels * size * size];
        ImagePreprocessor.Run(Photo(20, 15), config, channels, size, size, output); // warm up (JIT, statics)
        long before = GC.GetAllocatedBytesForCurrentThread();
        ImagePreprocessor.Run(image, config, channels, size, size, output);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < image.Pixels.Length / 2, $"{model}: {allocated} bytes allocated for a {image.Pixels.Length}-byte image");
    }

    [Fact]
    public void BilinearOfTheBytesEqualsBilinearOfTheirFloats()
    {
        var image = Photo(37, 23);
        const float scale = 1f / 255f;
        var floats = new float[3 * 23 * 37];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 23 * 37; i++) floats[c * 23 * 37 + i] = image.Pixels[i * 3 + c] * scale;
        foreach (var (h, w) in new[] { (64, 64), (10, 50), (23, 37), (5, 3) })
        {
            var expected = new float[3 * h * w];
            var actual = new float[3 * h * w];
            Resize.BilinearFloat(floats, 3, 23, 37, expected, h, w);
            Resize.BilinearFloat(image, scale, actual, h, w);
            Assert.Equal(expected, actual);
        }
    }
}
