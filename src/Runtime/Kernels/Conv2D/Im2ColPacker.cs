using System.Runtime.CompilerServices;
namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Builds a GEMM input panel straight from the image (im2col of one block of output pixels):
/// row (ci * k + ky) * k + kx, column j = input pixel under that tap for output pixel p0 + j, zero outside the image.
/// </summary>
[SkipLocalsInit]
internal unsafe struct Im2ColPacker : IPanelPacker
{
    public float* Input;
    public int Channels, Height, Width, KernelSize, Stride, Padding, Dilation, OutWidth;

    /// <summary>No prefetch: a 3x3 convolution's maps are small and each input row feeds k x k panel rows.</summary>
    public void Prefetch(int p0, int p1, int k0, int k1) { }

    public void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, blockWidth = 3 * lanes;
        for (int q = p0; q < p1; q += blockWidth)
        {
            int cols = Math.Min(blockWidth, p1 - q);
            Pack<TOps, TV>(dst + (long)(q - p0) * k, q, cols, (cols + lanes - 1) / lanes * lanes);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int k = KernelSize, s = Stride;
        int lanes = TOps.Count;
        float* odd = stackalloc float[16]; // discarded odd columns of the stride-2 de-interleave
        int rowsTotal = Channels * k * k;
        if (n < width)
            for (int row = 0; row < rowsTotal; row++)
                for (int j = n; j < width; j++) dst[row * width + j] = 0f;

        int done = 0;
        while (done < n)
        {
            int p = p0 + done;
            int oy = p / OutWidth, ox0 = p - oy * OutWidth;
            int len = Math.Min(OutWidth - ox0, n - done);
            int oxEnd = ox0 + len;
            float* seg = dst + done - ox0; // seg[row * width + ox]
            int row = 0;
            for (int ci = 0; ci < Channels; ci++)
            {
                for (int ky = 0; ky < k; ky++)
                {
                    int iy = oy * s - Padding + ky * Dilation;
                    if ((uint)iy >= (uint)Height)
                    {
                        for (int kx = 0; kx < k; kx++, row++)
                        {
                            float* d = seg + row * width;
                            for (int ox = ox0; ox < oxEnd; ox++) d[ox] = 0f;
                        }
                        continue;
                    }
                    float* src = Input + ((long)ci * Height + iy) * Width;
                    for (int kx = 0; kx < k; kx++, row++)
                    {
                        float* d = seg + row * width;
                        int off = kx * Dilation - Padding;                     // ix = ox * s + off
                        int lo = Math.Max(ox0, CeilDiv(-off, s));
                        int hi = Math.Min(oxEnd, FloorDiv(Width - 1 - off, s) + 1);
                        int ox = ox0;
                        for (; ox < lo && ox < oxEnd; ox++) d[ox] = 0f;
                        if (s == 1)
                        {
                            for (; ox + lanes <= hi; ox += lanes) TOps.Store(d + ox, TOps.Load(src + ox + off));
                            for (; ox < hi; ox++) d[ox] = src[ox + off];
                        }
                        else
                        {
                            if (s == 2) // even columns by vector narrowing, while the 2-vector read stays inside the row
                                for (; ox + lanes <= hi && 2 * (ox + lanes) + off <= Width; ox += lanes)
                                    TOps.Deinterleave(src + 2 * ox + off, d + ox, odd);
                            for (; ox < hi; ox++) d[ox] = src[ox * s + off];
                        }
                        for (; ox < oxEnd; ox++) d[ox] = 0f;
                    }
                }
            }
            done += len;
        }
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
