namespace MobileViT.Compiled.Imaging;

/// <summary>
/// A decoded 8-bit image: <see cref="Height"/> rows of <see cref="Width"/> pixels, each pixel <see cref="Channels"/>
/// interleaved bytes (1 = grayscale, 3 = RGB). This is what any decoder hands over (the runtime has none of its own:
/// decode with the library of your choice, e.g. StbImageSharp, and wrap its buffer).
/// </summary>
public sealed class RawImage
{
    /// <summary>The largest width or height accepted (the same bound a decoder should check before allocating).</summary>
    public const int MaxDimension = 1 << 15;

    /// <summary>The largest number of pixels accepted (Width x Height).</summary>
    public const long MaxPixels = 1L << 28;

    public RawImage(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        Validate(width, height);
        if (channels is not (1 or 3))
            throw new ArgumentException($"an image has 1 (grayscale) or 3 (RGB) channels, not {channels}", nameof(channels));
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"a {width}x{height} image with {channels} channel(s) has {expected} bytes, not {pixels.Length}", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }

    /// <summary>Row-major, channel-interleaved bytes (HWC).</summary>
    public byte[] Pixels { get; }

    /// <summary>Throws <see cref="ArgumentException"/> when a declared size is empty or absurd; call it before allocating.</summary>
    public static void Validate(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"the image size {width}x{height} is empty or negative");
        if (width > MaxDimension || height > MaxDimension || (long)width * height > MaxPixels)
            throw new ArgumentException($"the image size {width}x{height} exceeds the limit of {MaxDimension} pixels a side and {MaxPixels} pixels in all");
    }

    /// <summary>The image as one luma channel, as PIL's <c>convert("L")</c> computes it (ITU-R 601-2, fixed point).</summary>
    public RawImage ToGrayscale()
    {
        if (Channels == 1) return this;
        var gray = new byte[Width * Height];
        var rgb = Pixels;
        for (int i = 0, j = 0; i < gray.Length; i++, j += 3)
            gray[i] = (byte)((rgb[j] * 19595 + rgb[j + 1] * 38470 + rgb[j + 2] * 7471 + 0x8000) >> 16);
        return new RawImage(Width, Height, 1, gray);
    }

    /// <summary>The image as RGB; a grayscale image has its value copied to all three channels.</summary>
    public RawImage ToRgb()
    {
        if (Channels == 3) return this;
        var rgb = new byte[Width * Height * 3];
        for (int i = 0, j = 0; i < Pixels.Length; i++, j += 3)
            rgb[j] = rgb[j + 1] = rgb[j + 2] = Pixels[i];
        return new RawImage(Width, Height, 3, rgb);
    }
}
