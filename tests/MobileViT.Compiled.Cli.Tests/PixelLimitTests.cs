using System.Buffers.Binary;
using System.Diagnostics;
using MobileViT.Cli;
using MobileViT.Compiled.Imaging;
using StbImageWriteSharp;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>
/// Decompression bombs: a small file whose header declares a huge image is refused from the header, before anything
/// is decoded or allocated, with the default pixel limit (Pillow's) or the one given by --max-pixels.
/// </summary>
public class PixelLimitTests
{
    private const int Side = 16_000; // 256,000,000 pixels: under the old 2^28 bound, over the default limit
    private static readonly string Sneaker = Path.Combine(Fixtures.SampleImages, "sneaker.png");

    public static TheoryData<string> Formats() => new() { "png", "jpeg", "bmp", "gif" };

    /// <summary>A small valid file of the format with its header's width and height overwritten.</summary>
    private static byte[] Declaring(string format, int width, int height)
    {
        var pixels = new byte[16 * 16 * 3];
        using var stream = new MemoryStream();
        var writer = new ImageWriter();
        switch (format)
        {
            case "png":
                writer.WritePng(pixels, 16, 16, ColorComponents.RedGreenBlue, stream);
                return Patch(stream.ToArray(), 16, 20, width, height, bigEndian: true, bytes: 4);
            case "jpeg":
                writer.WriteJpg(pixels, 16, 16, ColorComponents.RedGreenBlue, stream, 90);
                var jpeg = stream.ToArray();
                int sof = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]); // frame header: length, precision, height, width
                return Patch(jpeg, sof + 7, sof + 5, width, height, bigEndian: true, bytes: 2);
            case "bmp":
                writer.WriteBmp(pixels, 16, 16, ColorComponents.RedGreenBlue, stream);
                return Patch(stream.ToArray(), 18, 22, width, height, bigEndian: false, bytes: 4);
            default: // a 1x1 GIF89a; the logical screen size is what the decoder allocates for
                return Patch(Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="), 6, 8, width, height, bigEndian: false, bytes: 2);
        }
    }

    private static byte[] Patch(byte[] file, int widthAt, int heightAt, int width, int height, bool bigEndian, int bytes)
    {
        foreach (var (at, value) in new[] { (widthAt, width), (heightAt, height) })
        {
            var target = file.AsSpan(at, bytes);
            if (bytes == 2 && bigEndian) BinaryPrimitives.WriteUInt16BigEndian(target, (ushort)value);
            else if (bytes == 2) BinaryPrimitives.WriteUInt16LittleEndian(target, (ushort)value);
            else if (bigEndian) BinaryPrimitives.WriteInt32BigEndian(target, value);
            else BinaryPrimitives.WriteInt32LittleEndian(target, value);
        }
        return file;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void AHugeDeclaredSizeIsRefusedFromTheHeaderWithoutAllocating(string format)
    {
        var bomb = Declaring(format, Side, Side);
        ImageDecoder.Decode(Declaring(format, 16, 16)); // the same file with its real size decodes: only the size is refused
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bomb));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal($"the image size {Side}x{Side} (256000000 pixels) exceeds the limit of 178956970 pixels", e.Message);
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated before refusing the {format} header");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"refusing took {clock.Elapsed}");
    }

    [Fact]
    public void TheDefaultLimitIsPillowsDecompressionBombLimit()
    {
        Assert.Equal(2 * 89_478_485L, RawImage.DefaultMaxPixels);
        RawImage.Validate(13_377, 13_377); // 178,944,129 pixels
        Assert.Throws<ArgumentException>(() => RawImage.Validate(13_378, 13_378));
        Assert.Throws<ArgumentOutOfRangeException>(() => RawImage.Validate(10, 10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RawImage.Validate(10, 10, RawImage.MaxPixels + 1));
    }

    [Fact]
    public void TheCliNamesTheFileTheSizeAndTheLimitAndClassifiesTheOtherImages()
    {
        using var folder = new TempFolder();
        string bomb = folder.File("bomb.png", Declaring("png", Side, Side));
        var (code, stdout, stderr) = Cli.Run(bomb, Sneaker);
        Assert.Equal(1, code);
        Assert.Equal($"error: {bomb}: the image size {Side}x{Side} (256000000 pixels) exceeds the limit of 178956970 pixels", stderr.TrimEnd());
        Assert.Contains($"{Sneaker}: ", stdout);
        Assert.DoesNotContain(bomb, stdout);
    }

    [Fact]
    public void MaxPixelsLowersAndRaisesTheLimit()
    {
        // sneaker.png is 28x28 = 784 pixels.
        var (code, _, stderr) = Cli.Run(Sneaker, "--max-pixels", "783");
        Assert.Equal(1, code);
        Assert.Equal($"error: {Sneaker}: the image size 28x28 (784 pixels) exceeds the limit of 783 pixels", stderr.TrimEnd());
        Assert.Equal(0, Cli.Run(Sneaker, "--max-pixels", "784").Code);

        // Raised above 256,000,000 pixels, the bomb's header passes and the decoder finds the file has no such image.
        using var folder = new TempFolder();
        string bomb = folder.File("bomb.png", Declaring("png", Side, Side));
        (code, _, stderr) = Cli.Run(bomb, "--max-pixels", $"{RawImage.MaxPixels}");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: {bomb}: ", stderr);
        Assert.DoesNotContain("limit", stderr);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("268435457")]
    [InlineData("lots")]
    public void MaxPixelsOutOfRangeIsAUsageError(string value)
    {
        var (code, _, stderr) = Cli.Run(Sneaker, "--max-pixels", value);
        Assert.Equal(2, code);
        Assert.Contains("--max-pixels", stderr);
    }

    [Fact]
    public void SegmentTakesTheLimitToo()
    {
        var (code, _, stderr) = Cli.Run("segment", Sneaker, "--weights", Path.Combine(Fixtures.ModelDirectory("deeplabv3-mobilevit-xx-small"), "model.safetensors"), "--max-pixels", "100");
        Assert.Equal(1, code);
        Assert.Equal($"error: {Sneaker}: the image size 28x28 (784 pixels) exceeds the limit of 100 pixels", stderr.TrimEnd());
    }

    [Fact]
    public void HelpDocumentsMaxPixels()
    {
        var (code, stdout, _) = Cli.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("--max-pixels <N>", stdout);
        Assert.Contains("178956970", stdout);
    }
}
