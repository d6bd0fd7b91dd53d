using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Bilinear resize with half-pixel centres and no antialias (torch interpolate, align_corners=False): the
/// MobileViT block's resize to a multiple of the patch size and back, and the ASPP pooling branch's upsample.
/// Source rows and columns and their weights are computed once per call, then every channel reuses them.
/// Separable: each input row a channel needs is resampled horizontally once into a row buffer (its taps gathered from
/// two columns per output, then blended in vectors), and each output row is the vertical blend of two buffers in vectors.
/// The products and sums are the reference's, in its order, so the result is bitwise the same.
/// </summary>
[SkipLocalsInit]
public static unsafe class ResizeBilinear
{
    /// <summary>
    /// The path the resize runs on: portable Vector128 (AdvSimd or SSE; the horizontal taps are gathers, which wider
    /// vectors would only emulate). The one selection, read by <see cref="Run"/> and by <see cref="KernelInfo"/>.
    /// </summary>
    internal static Isa Tier => Vector128.IsHardwareAccelerated ? Isa.Vector128 : Isa.Scalar;

    public static void Run(ReadOnlySpan<float> input, Span<float> output, int channels,
        int inHeight, int inWidth, int outHeight, int outWidth)
        => RunIsa(input, output, channels, inHeight, inWidth, outHeight, outWidth, Tier);

    /// <summary>The same on a chosen path: Scalar, or any vector path (which runs Vector128).</summary>
    internal static void RunIsa(ReadOnlySpan<float> input, Span<float> output, int channels,
        int inHeight, int inWidth, int outHeight, int outWidth, Isa isa)
    {
        if (input.Length < channels * inHeight * inWidth || output.Length < channels * outHeight * outWidth)
            throw new ArgumentException("input or output is shorter than channels x height x width");
        if (channels <= 0 || outHeight <= 0 || outWidth <= 0) return;
        bool vector = isa != Isa.Scalar;
        bool small = outWidth <= 1024;
        // Per output column: the two source columns and their weights (1 - lx and lx, as the reference rounds them).
        Span<int> x0 = small ? stackalloc int[outWidth] : new int[outWidth];
        Span<int> x1 = small ? stackalloc int[outWidth] : new int[outWidth];
        Span<float> w0 = small ? stackalloc float[outWidth] : new float[outWidth];
        Span<float> w1 = small ? stackalloc float[outWidth] : new float[outWidth];
        // Two horizontally resampled input rows: the output row's top and bottom source rows.
        Span<float> rows = small ? stackalloc float[2 * outWidth] : new float[2 * outWidth];
        float scaleX = (float)inWidth / outWidth, scaleY = (float)inHeight / outHeight;
        for (int x = 0; x < outWidth; x++)
        {
            float sx = MathF.Max(scaleX * (x + 0.5f) - 0.5f, 0f);
            x0[x] = (int)sx;
            x1[x] = Math.Min(x0[x] + 1, inWidth - 1);
            float lx = sx - x0[x];
            w0[x] = 1 - lx;
            w1[x] = lx;
        }
        int inPlane = inHeight * inWidth, outPlane = outHeight * outWidth;
        // Channel by channel, so each output plane is written front to back (row by row across all channels wrote
        // every plane's row at a stride of a whole plane: 0.9 ms for DeepLab's 256 x 32 x 32 pooling-branch upsample).
        fixed (float* pIn = input, pOut = output, pw0 = w0, pw1 = w1, pRows = rows)
        fixed (int* px0 = x0, px1 = x1)
        {
            var columns = new Columns { X0 = px0, X1 = px1, W0 = pw0, W1 = pw1, Width = outWidth };
            for (int c = 0; c < channels; c++)
            {
                float* plane = pIn + (long)c * inPlane;
                float* outRow = pOut + (long)c * outPlane;
                float* top = pRows, bottom = pRows + outWidth;
                int topY = -1, bottomY = -1; // the input rows the buffers hold
                for (int y = 0; y < outHeight; y++, outRow += outWidth)
                {
                    float sy = MathF.Max(scaleY * (y + 0.5f) - 0.5f, 0f);
                    int y0 = (int)sy;
                    int y1 = Math.Min(y0 + 1, inHeight - 1);
                    float ly = sy - y0;
                    // Upsampling moves down one input row every few output rows: the old bottom becomes the top.
                    if (y0 != topY && y0 == bottomY)
                    {
                        float* previousTop = top;
                        top = bottom;
                        bottom = previousTop;
                        topY = bottomY;
                        bottomY = -1;
                    }
                    if (y0 != topY) { Horizontal(plane + (long)y0 * inWidth, columns, top, vector); topY = y0; }
                    if (y1 != bottomY) { Horizontal(plane + (long)y1 * inWidth, columns, bottom, vector); bottomY = y1; }
                    Vertical(top, bottom, 1 - ly, ly, outRow, outWidth, vector);
                }
            }
        }
    }

    private struct Columns
    {
        public int* X0, X1;
        public float* W0, W1;
        public int Width;
    }

    /// <summary>dst[x] = (1 - lx) * src[x0] + lx * src[x1]: the taps are gathered by scalar loads, the blend is vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Horizontal(float* src, in Columns c, float* dst, bool vector)
    {
        int* x0 = c.X0, x1 = c.X1;
        int x = 0;
        if (vector)
            for (; x + 4 <= c.Width; x += 4)
            {
                var left = Vector128.Create(src[x0[x]], src[x0[x + 1]], src[x0[x + 2]], src[x0[x + 3]]);
                var right = Vector128.Create(src[x1[x]], src[x1[x + 1]], src[x1[x + 2]], src[x1[x + 3]]);
                (Vector128.Load(c.W0 + x) * left + Vector128.Load(c.W1 + x) * right).Store(dst + x);
            }
        for (; x < c.Width; x++) dst[x] = c.W0[x] * src[x0[x]] + c.W1[x] * src[x1[x]];
    }

    /// <summary>dst[x] = (1 - ly) * top[x] + ly * bottom[x].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Vertical(float* top, float* bottom, float topWeight, float bottomWeight, float* dst, int width, bool vector)
    {
        int x = 0;
        if (vector)
        {
            var wt = Vector128.Create(topWeight);
            var wb = Vector128.Create(bottomWeight);
            for (; x + 4 <= width; x += 4)
                (wt * Vector128.Load(top + x) + wb * Vector128.Load(bottom + x)).Store(dst + x);
        }
        for (; x < width; x++) dst[x] = topWeight * top[x] + bottomWeight * bottom[x];
    }
}
