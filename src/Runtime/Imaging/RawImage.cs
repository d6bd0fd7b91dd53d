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

    /// <summary>
    /// The pixel limit a decoder applies unless told otherwise: Pillow's (it warns above 89,478,485 pixels and refuses
    /// above twice that, this number). Checked against the size a header declares, before anything is decoded.
    /// </summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>
    /// The most pixels any limit may allow: width x height x 3 and the preprocessing's offsets stay within an int.
    /// </summary>
    public const long MaxPixels = 1L << 28;

    public RawImage(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        Validate(width, height, MaxPixels); // the pixels exist already: a decoder applied its limit before allocating them
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

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when a declared size is empty, wider or taller than
    /// <see cref="MaxDimension"/>, or has more than <paramref name="maxPixels"/> pixels; call it before allocating.
    /// </summary>
    /// <param name="maxPixels">From 1 to <see cref="MaxPixels"/>; <see cref="DefaultMaxPixels"/> by default.</param>
    public static void Validate(int width, int height, long maxPixels = DefaultMaxPixels)
    {
        ValidateLimit(maxPixels);
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"the image size {width}x{height} is empty or negative");
        if (width > MaxDimension || height > MaxDimension)
            throw new ArgumentException($"the image size {width}x{height} exceeds the limit of {MaxDimension} pixels a side");
        if ((long)width * height > maxPixels)
            throw new ArgumentException($"the image size {width}x{height} ({(long)width * height} pixels) exceeds the limit of {maxPixels} pixels");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 1 &lt;= <paramref name="maxPixels"/> &lt;= <see cref="MaxPixels"/>.</summary>
    public static void ValidateLimit(long maxPixels)
    {
        if (maxPixels is < 1 or > MaxPixels)
            throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, $"a pixel limit is from 1 to {MaxPixels}");
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
