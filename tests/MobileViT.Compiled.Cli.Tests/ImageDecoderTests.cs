using System.Buffers.Binary;
using CsCheck;
using MobileViT.Cli;
using StbImageWriteSharp;

namespace MobileViT.Compiled.Cli.Tests;

/// <summary>Decoding PNG, JPEG, BMP and GIF with the pure-managed decoder; bad files are errors with a reason, never a crash.</summary>
public class ImageDecoderTests
{
    private static byte[] Gradient(int w, int h, int c) =>
        Enumerable.Range(0, w * h * c).Select(i => (byte)((i / c % w) * 40 + (i / c / w) * 20 + i % c * 7)).ToArray();

    private static byte[] Encode(Action<ImageWriter, Stream> write)
    {
        using var stream = new MemoryStream();
        write(new ImageWriter(), stream);
        return stream.ToArray();
    }

    [Fact]
    public void PngAndBmpDecodeExactly()
    {
        var rgb = Gradient(5, 3, 3);
        var gray = Gradient(5, 3, 1);
        var png = ImageDecoder.Decode(Encode((w, s) => w.WritePng(rgb, 5, 3, ColorComponents.RedGreenBlue, s)));
        Assert.Equal((5, 3, 3), (png.Width, png.Height, png.Channels));
        Assert.Equal(rgb, png.Pixels);
        var grayPng = ImageDecoder.Decode(Encode((w, s) => w.WritePng(gray, 5, 3, ColorComponents.Grey, s)));
        Assert.Equal((5, 3, 1), (grayPng.Width, grayPng.Height, grayPng.Channels));
        Assert.Equal(gray, grayPng.Pixels);
        var bmp = ImageDecoder.Decode(Encode((w, s) => w.WriteBmp(rgb, 5, 3, ColorComponents.RedGreenBlue, s)));
        Assert.Equal(rgb, bmp.Pixels);
    }

    [Fact]
    public void PngWithAlphaDropsTheAlpha()
    {
        var rgba = Gradient(4, 2, 4);
        var image = ImageDecoder.Decode(Encode((w, s) => w.WritePng(rgba, 4, 2, ColorComponents.RedGreenBlueAlpha, s)));
        Assert.Equal(3, image.Channels);
        Assert.Equal(rgba.Where((_, i) => i % 4 != 3).ToArray(), image.Pixels);
    }

    [Fact]
    public void JpegDecodesCloseToTheOriginal()
    {
        var rgb = Enumerable.Repeat((byte)120, 16 * 16 * 3).ToArray();
        var image = ImageDecoder.Decode(Encode((w, s) => w.WriteJpg(rgb, 16, 16, ColorComponents.RedGreenBlue, s, 95)));
        Assert.Equal((16, 16, 3), (image.Width, image.Height, image.Channels));
        Assert.All(image.Pixels, p => Assert.InRange(p, 115, 125));
    }

    [Fact]
    public void GifDecodesItsFirstFrame()
    {
        // A 1x1 GIF89a whose only pixel is palette entry 0, white.
        var gif = Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=");
        var image = ImageDecoder.Decode(gif);
        Assert.Equal((1, 1, 3), (image.Width, image.Height, image.Channels));
        Assert.Equal(new byte[] { 255, 255, 255 }, image.Pixels);
    }

    [Theory]
    [InlineData(100_000, 100_000)]
    [InlineData(20_000, 20_000)]
    [InlineData(1, 40_000)]
    [InlineData(-5, 10)]
    public void AbsurdDeclaredSizeIsRefusedBeforeAllocating(int width, int height)
    {
        // A PNG signature and IHDR declaring the size, then nothing: the decoder must stop at the header.
        var png = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' }.CopyTo(png, 0);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        png[24] = 8; // bit depth
        png[25] = 2; // RGB
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.Message.Contains($"the image size {width}x{height}"), e.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated before refusing");
    }

    [Fact]
    public void GifDeclaringAHugeSizeIsRefused()
    {
        var gif = Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=");
        BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(6), 65535);
        BinaryPrimitives.WriteUInt16LittleEndian(gif.AsSpan(8), 65535);
        Assert.Contains("limit", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(gif)).Message);
    }

    [Fact]
    public void BmpDeclaringAHugeSizeIsRefused()
    {
        var bmp = Encode((w, s) => w.WriteBmp(Gradient(2, 2, 3), 2, 2, ColorComponents.RedGreenBlue, s));
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 1 << 30);
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bmp));
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void TruncatedCorruptEmptyAndNonImageFilesAreErrors()
    {
        var png = Encode((w, s) => w.WritePng(Gradient(64, 64, 3), 64, 64, ColorComponents.RedGreenBlue, s));
        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png[..(png.Length / 2)]));
        var corrupt = (byte[])png.Clone();
        for (int i = 40; i < corrupt.Length - 20; i++) corrupt[i] ^= 0x5A;
        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(corrupt));
        Assert.Contains("empty", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([])).Message);
        Assert.Contains("not a PNG, JPEG, BMP or GIF", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode("hello, world\n"u8.ToArray())).Message);
    }

    public static TheoryData<string> Formats() => new() { "png", "jpeg", "bmp", "gif" };

    private static byte[] Sample(string format) => format switch
    {
        "png" => Encode((w, s) => w.WritePng(Gradient(8, 8, 3), 8, 8, ColorComponents.RedGreenBlue, s)),
        "jpeg" => Encode((w, s) => w.WriteJpg(Gradient(16, 16, 3), 16, 16, ColorComponents.RedGreenBlue, s, 90)),
        "bmp" => Encode((w, s) => w.WriteBmp(Gradient(8, 8, 3), 8, 8, ColorComponents.RedGreenBlue, s)),
        _ => Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="),
    };

    /// <summary>
    /// Mutation fuzz of the decoder path, 1,500 inputs per format: a valid file truncated anywhere, with one to four
    /// bytes overwritten (headers included, so sizes and lengths become hostile). Every input decodes to a consistent
    /// image or is an ImageDecodeException; nothing else escapes, and nothing hangs: the whole run has a deadline,
    /// and the input being decoded when it passes is written out (this found a JPEG header that made stb_image loop).
    /// </summary>
    [Theory]
    [MemberData(nameof(Formats))]
    public async Task MutatedFilesNeverCrashOrHangTheDecoder(string format)
    {
        var valid = Sample(format);
        var mutation = Gen.Select(Gen.Int[1, valid.Length], Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte).Array[1, 4]);
        byte[] current = [];
        var run = Task.Run(() => mutation.Sample((length, edits) =>
        {
            var bytes = valid[..length];
            foreach (var (position, value) in edits)
                if (position < bytes.Length) bytes[position] = value;
            Volatile.Write(ref current, bytes);
            try
            {
                var image = ImageDecoder.Decode(bytes);
                Assert.Equal(image.Width * image.Height * image.Channels, image.Pixels.Length);
            }
            catch (ImageDecodeException) { }
        }, iter: 1500, threads: 1));
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) != run)
        {
            string path = Path.Combine(Path.GetTempPath(), $"mobilevit-decoder-hang.{format}");
            File.WriteAllBytes(path, Volatile.Read(ref current));
            Assert.Fail($"{format}: decoding did not finish within 60 s; the input being decoded is in {path}");
        }
        await run; // rethrows a failed assertion
    }

    [Fact]
    public void TruncatedJpegHeaderThatMadeTheDecoderLoopIsRefused()
    {
        // Found by the fuzz test above: SOI, then an APP0 segment declaring 16 bytes, cut after 13 of them.
        var bytes = Convert.FromHexString("FFD8FFE000104A46494600010100000100");
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(bytes));
        Assert.Contains("past the end", error.Message);
    }

    [Fact]
    public void MissingFileAndFolderAreErrors()
    {
        Assert.Contains("not found", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode("/no/such/image.png")).Message);
        using var folder = new TempFolder();
        Assert.Contains("folder", Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(folder.Path)).Message);
    }
}
