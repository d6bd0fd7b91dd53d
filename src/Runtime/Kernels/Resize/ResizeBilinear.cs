namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Bilinear resize with half-pixel centres and no antialias (torch interpolate, align_corners=False): the
/// MobileViT block's resize to a multiple of the patch size and back, and the ASPP pooling branch's upsample.
/// Source rows and columns and their weights are computed once per call, then every channel reuses them.
/// </summary>
public static class ResizeBilinear
{
    /// <summary>The path the resize runs on: a scalar loop so far. Read by <see cref="KernelInfo"/>.</summary>
    internal static Isa Tier => Isa.Scalar;

    public static void Run(ReadOnlySpan<float> input, Span<float> output, int channels,
        int inHeight, int inWidth, int outHeight, int outWidth)
    {
        if (input.Length < channels * inHeight * inWidth || output.Length < channels * outHeight * outWidth)
            throw new ArgumentException("input or output is shorter than channels x height x width");
        Span<int> x0 = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        Span<int> x1 = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        Span<float> lx = outWidth <= 1024 ? stackalloc float[outWidth] : new float[outWidth];
        float scaleX = (float)inWidth / outWidth, scaleY = (float)inHeight / outHeight;
        for (int x = 0; x < outWidth; x++)
        {
            float sx = MathF.Max(scaleX * (x + 0.5f) - 0.5f, 0f);
            x0[x] = (int)sx;
            x1[x] = Math.Min(x0[x] + 1, inWidth - 1);
            lx[x] = sx - x0[x];
        }
        int inPlane = inHeight * inWidth, outPlane = outHeight * outWidth;
        // Channel by channel, so each output plane is written front to back (row by row across all channels wrote
        // every plane's row at a stride of a whole plane: 0.9 ms for DeepLab's 256 x 32 x 32 pooling-branch upsample).
        unsafe
        {
            fixed (float* pIn = input, pOut = output)
            fixed (int* px0 = x0, px1 = x1)
            fixed (float* plx = lx)
            {
                for (int c = 0; c < channels; c++)
                {
                    float* plane = pIn + (long)c * inPlane;
                    float* outRow = pOut + (long)c * outPlane;
                    for (int y = 0; y < outHeight; y++, outRow += outWidth)
                    {
                        float sy = MathF.Max(scaleY * (y + 0.5f) - 0.5f, 0f);
                        int y0 = (int)sy;
                        int y1 = Math.Min(y0 + 1, inHeight - 1);
                        float ly = sy - y0;
                        float* top = plane + y0 * inWidth, bottom = plane + y1 * inWidth;
                        for (int x = 0; x < outWidth; x++)
                        {
                            float l = plx[x];
                            float t = (1 - l) * top[px0[x]] + l * top[px1[x]];
                            float b = (1 - l) * bottom[px0[x]] + l * bottom[px1[x]];
                            outRow[x] = (1 - ly) * t + ly * b;
                        }
                    }
                }
            }
        }
    }
}
