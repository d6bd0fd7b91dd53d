namespace MobileViT.Compiled.Kernels.Reference;

public static partial class ReferenceKernels
{
    /// <summary>
    /// Bilinear resize of each channel, as torch.nn.functional.interpolate(mode="bilinear", align_corners=False)
    /// with no antialias: source = (dst + 0.5) * in/out - 0.5, clamped at 0, neighbours clamped at the edge.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> input, Span<float> output, int channels,
        int inHeight, int inWidth, int outHeight, int outWidth)
    {
        float scaleY = (float)inHeight / outHeight, scaleX = (float)inWidth / outWidth;
        for (int c = 0; c < channels; c++)
        for (int y = 0; y < outHeight; y++)
        {
            float sy = Math.Max(scaleY * (y + 0.5f) - 0.5f, 0f);
            int y0 = (int)sy;
            int y1 = Math.Min(y0 + 1, inHeight - 1);
            float ly = sy - y0;
            for (int x = 0; x < outWidth; x++)
            {
                float sx = Math.Max(scaleX * (x + 0.5f) - 0.5f, 0f);
                int x0 = (int)sx;
                int x1 = Math.Min(x0 + 1, inWidth - 1);
                float lx = sx - x0;
                int plane = c * inHeight * inWidth;
                float top = (1 - lx) * input[plane + y0 * inWidth + x0] + lx * input[plane + y0 * inWidth + x1];
                float bottom = (1 - lx) * input[plane + y1 * inWidth + x0] + lx * input[plane + y1 * inWidth + x1];
                output[(c * outHeight + y) * outWidth + x] = (1 - ly) * top + ly * bottom;
            }
        }
    }
}
