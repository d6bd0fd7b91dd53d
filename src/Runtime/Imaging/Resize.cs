namespace MobileViT.Compiled.Imaging;

/// <summary>
/// The two resizes the reference pipelines use, reproduced to the bit where the reference is deterministic:
/// <list type="bullet">
/// <item><see cref="Antialiased"/>: torchvision's <c>F.resize(uint8 tensor, antialias=True)</c>, which is PIL's
/// <c>Image.resize</c> algorithm (separable convolution, horizontal pass first, the filter stretched by the scale when
/// shrinking, fixed-point weights, each pass rounded back to 8 bits). This is what <c>MobileViTImageProcessor</c> does.</item>
/// <item><see cref="BilinearFloat(ReadOnlySpan{float}, int, int, int, Span{float}, int, int)"/> (and its overload on 8-bit images): PyTorch's <c>F.interpolate(mode="bilinear", align_corners=False)</c> on floats,
/// half-pixel centres, no antialiasing.</item>
/// </list>
/// </summary>
public static class Resize
{
    /// <summary>How the 8-bit resize turns its weights into fixed point.</summary>
    public enum FixedPoint
    {
        /// <summary>torchvision / ATen's uint8 kernel: int16 weights with the most precision that fits.</summary>
        Torchvision,
        /// <summary>PIL's <c>ImagingResample</c>: 22 fractional bits.</summary>
        Pil,
    }

    /// <summary>Resizes an 8-bit image with an antialiased separable filter (see the class summary).</summary>
    public static RawImage Antialiased(RawImage image, int height, int width, Resampling filter, FixedPoint fixedPoint = FixedPoint.Torchvision)
    {
        ArgumentNullException.ThrowIfNull(image);
        RawImage.Validate(width, height, RawImage.MaxPixels);
        int c = image.Channels;
        byte[] current = image.Pixels;
        int currentWidth = image.Width;
        if (width != image.Width)
        {
            var k = Coefficients(image.Width, width, filter, fixedPoint);
            var output = new byte[image.Height * width * c];
            for (int y = 0; y < image.Height; y++)
            {
                int rowIn = y * image.Width * c, rowOut = y * width * c;
                for (int x = 0; x < width; x++)
                {
                    int start = k.Start[x], count = k.Count[x], w0 = x * k.Size;
                    for (int ch = 0; ch < c; ch++)
                    {
                        long sum = 1L << (k.Precision - 1);
                        for (int i = 0; i < count; i++) sum += current[rowIn + (start + i) * c + ch] * (long)k.Weights[w0 + i];
                        output[rowOut + x * c + ch] = Clip8(sum, k.Precision);
                    }
                }
            }
            current = output;
            currentWidth = width;
        }
        if (height != image.Height)
        {
            var k = Coefficients(image.Height, height, filter, fixedPoint);
            int stride = currentWidth * c;
            var output = new byte[height * stride];
            for (int y = 0; y < height; y++)
            {
                int start = k.Start[y], count = k.Count[y], w0 = y * k.Size;
                for (int x = 0; x < stride; x++)
                {
                    long sum = 1L << (k.Precision - 1);
                    for (int i = 0; i < count; i++) sum += current[(start + i) * stride + x] * (long)k.Weights[w0 + i];
                    output[y * stride + x] = Clip8(sum, k.Precision);
                }
            }
            current = output;
        }
        return ReferenceEquals(current, image.Pixels) ? new RawImage(width, height, c, (byte[])current.Clone()) : new RawImage(width, height, c, current);
    }

    /// <summary>
    /// Bilinear resize of planar floats (<paramref name="channels"/> planes of <paramref name="inHeight"/> x
    /// <paramref name="inWidth"/>) exactly as PyTorch's <c>F.interpolate(mode="bilinear", align_corners=False)</c>:
    /// source = (destination + 0.5) x in/out - 0.5, clamped at 0; no antialiasing.
    /// </summary>
    public static void BilinearFloat(ReadOnlySpan<float> input, int channels, int inHeight, int inWidth, Span<float> output, int outHeight, int outWidth)
    {
        RawImage.Validate(inWidth, inHeight, RawImage.MaxPixels);
        RawImage.Validate(outWidth, outHeight, RawImage.MaxPixels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if (input.Length != (long)channels * inHeight * inWidth) throw new ArgumentException($"input has {input.Length} floats, not {channels}x{inHeight}x{inWidth}", nameof(input));
        if (output.Length != (long)channels * outHeight * outWidth) throw new ArgumentException($"output has {output.Length} floats, not {channels}x{outHeight}x{outWidth}", nameof(output));
        var rows = LinearIndices(inHeight, outHeight);
        var columns = LinearIndices(inWidth, outWidth);
        for (int c = 0; c < channels; c++)
        {
            var plane = input.Slice(c * inHeight * inWidth, inHeight * inWidth);
            var target = output.Slice(c * outHeight * outWidth, outHeight * outWidth);
            for (int y = 0; y < outHeight; y++)
                BlendRow(plane.Slice(rows.I0[y] * inWidth, inWidth), plane.Slice(rows.I1[y] * inWidth, inWidth), rows.L0[y], rows.L1[y],
                    columns, target.Slice(y * outWidth, outWidth));
        }
    }

    /// <summary>
    /// <see cref="BilinearFloat(ReadOnlySpan{float}, int, int, int, Span{float}, int, int)"/> of the image's values times
    /// <paramref name="scale"/>, into channel-major <paramref name="output"/> (channels x outHeight x outWidth), with the
    /// same results. Only the two source rows an output row reads are converted to floats, so a large image costs no
    /// full-size float copy (4 bytes per value).
    /// </summary>
    public static void BilinearFloat(RawImage image, float scale, Span<float> output, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(image);
        RawImage.Validate(outWidth, outHeight, RawImage.MaxPixels);
        int channels = image.Channels, inWidth = image.Width;
        if (output.Length != (long)channels * outHeight * outWidth) throw new ArgumentException($"output has {output.Length} floats, not {channels}x{outHeight}x{outWidth}", nameof(output));
        var rows = LinearIndices(image.Height, outHeight);
        var columns = LinearIndices(inWidth, outWidth);
        var r0 = new float[inWidth];
        var r1 = new float[inWidth];
        for (int c = 0; c < channels; c++)
        {
            var target = output.Slice(c * outHeight * outWidth, outHeight * outWidth);
            for (int y = 0; y < outHeight; y++)
            {
                ScaledRow(image, c, rows.I0[y], scale, r0);
                ScaledRow(image, c, rows.I1[y], scale, r1);
                BlendRow(r0, r1, rows.L0[y], rows.L1[y], columns, target.Slice(y * outWidth, outWidth));
            }
        }
    }

    private static void ScaledRow(RawImage image, int channel, int y, float scale, Span<float> row)
    {
        int c = image.Channels;
        var pixels = image.Pixels.AsSpan(y * image.Width * c, image.Width * c);
        for (int x = 0; x < row.Length; x++) row[x] = pixels[x * c + channel] * scale;
    }

    private static void BlendRow(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, float ly0, float ly1,
        (int[] I0, int[] I1, float[] L0, float[] L1) columns, Span<float> target)
    {
        var (x0, x1, lx0, lx1) = columns;
        for (int x = 0; x < target.Length; x++)
        {
            float top = lx0[x] * r0[x0[x]] + lx1[x] * r0[x1[x]];
            float bottom = lx0[x] * r1[x0[x]] + lx1[x] * r1[x1[x]];
            target[x] = ly0 * top + ly1 * bottom;
        }
    }

    // ATen compute_indices_weights_linear (align_corners=False, no scale factor given): float arithmetic.
    private static (int[] I0, int[] I1, float[] L0, float[] L1) LinearIndices(int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var l0 = new float[outSize];
        var l1 = new float[outSize];
        for (int i = 0; i < outSize; i++)
        {
            float source = scale * (i + 0.5f) - 0.5f;
            if (source < 0) source = 0;
            int index = (int)source;
            float lambda = Math.Clamp(source - index, 0f, 1f);
            i0[i] = index;
            i1[i] = index < inSize - 1 ? index + 1 : index;
            l1[i] = lambda;
            l0[i] = 1f - lambda;
        }
        return (i0, i1, l0, l1);
    }

    private static byte Clip8(long sum, int precision)
    {
        long value = sum >> precision;
        return value < 0 ? (byte)0 : value > 255 ? (byte)255 : (byte)value;
    }

    private sealed record Kernel(int[] Start, int[] Count, int[] Weights, int Size, int Precision);

    // PIL precompute_coeffs / ATen _compute_weights_aa: the same arithmetic in double.
    private static Kernel Coefficients(int inSize, int outSize, Resampling filter, FixedPoint fixedPoint)
    {
        double filterSupport = filter switch
        {
            Resampling.Bilinear => 1.0,
            Resampling.Bicubic => 2.0,
            _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "unsupported resampling filter"),
        };
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterSupport * filterScale;
        int size = (int)Math.Ceiling(support) * 2 + 1;
        double invScale = 1.0 / filterScale;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new double[outSize * size];
        double maxWeight = 0;
        for (int i = 0; i < outSize; i++)
        {
            double center = scale * (i + 0.5);
            int min = Math.Max((int)(center - support + 0.5), 0);
            int n = Math.Min((int)(center + support + 0.5), inSize) - min;
            double total = 0;
            for (int j = 0; j < n; j++)
            {
                double w = Filter(filter, (j + min - center + 0.5) * invScale);
                weights[i * size + j] = w;
                total += w;
            }
            if (total != 0)
                for (int j = 0; j < n; j++)
                {
                    weights[i * size + j] /= total;
                    maxWeight = Math.Max(maxWeight, weights[i * size + j]);
                }
            start[i] = min;
            count[i] = n;
        }
        int precision;
        if (fixedPoint == FixedPoint.Pil) precision = 22;
        else
            for (precision = 0; precision < 22; precision++)
                if ((int)(0.5 + maxWeight * (1 << (precision + 1))) >= 1 << 15) break;
        var fixedWeights = new int[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            double v = weights[i] * (1 << precision);
            fixedWeights[i] = (int)(v < 0 ? v - 0.5 : v + 0.5);
        }
        return new Kernel(start, count, fixedWeights, size, precision);
    }

    private static double Filter(Resampling filter, double x)
    {
        x = Math.Abs(x);
        if (filter == Resampling.Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
        const double a = -0.5; // Keys' cubic with a = -0.5, as PIL and torchvision's antialiased bicubic
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }
}
