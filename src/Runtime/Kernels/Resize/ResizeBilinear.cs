namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Bilinear resize with half-pixel centres and no antialias (torch interpolate, align_corners=False): the
/// MobileViT block's resize to a multiple of the patch size and back, and the ASPP pooling branch's upsample.
/// Source rows and columns and their weights are computed once per call, then every channel reuses them.
/// </summary>
public static class ResizeBilinear
{
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
        for (int y = 0; y < outHeight; y++)
        {
            float sy = MathF.Max(scaleY * (y + 0.5f) - 0.5f, 0f);
            int y0 = (int)sy;
            int y1 = Math.Min(y0 + 1, inHeight - 1);
            float ly = sy - y0;
            for (int c = 0; c < channels; c++)
            {
                var top = input.Slice(c * inPlane + y0 * inWidth, inWidth);
                var bottom = input.Slice(c * inPlane + y1 * inWidth, inWidth);
                var row = output.Slice(c * outPlane + y * outWidth, outWidth);
                for (int x = 0; x < row.Length; x++)
                {
                    float l = lx[x];
                    float t = (1 - l) * top[x0[x]] + l * top[x1[x]];
                    float b = (1 - l) * bottom[x0[x]] + l * bottom[x1[x]];
                    row[x] = (1 - ly) * t + ly * b;
                }
            }
        }
    }
}
