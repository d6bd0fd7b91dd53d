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

    /// <summary>Every block is packed (the packing does the work).</summary>
    public float* DirectRows(out int stride)
    {
        stride = 0;
        return null;
    }

    public void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, blockWidth = 3 * lanes;
        for (int q = p0; q < p1; q += blockWidth)
        {
            int cols = Math.Min(blockWidth, p1 - q);
            Pack<TOps, TV>(dst + (long)(q - p0) * k, q, cols, (cols + lanes - 1) / lanes * lanes);
        }
    }

    /// <summary>
    /// Packs one block. Per output-row segment and input row (ci, ky), the needed window of the input row is first
    /// copied into zero-padded phase rows (phase r holds padded columns r, r + s, r + 2s, ...; one phase for stride 1),
    /// so every tap row kx is then a plain vector copy from a phase at a fixed offset: no border tests and no scalar
    /// loops in the k x k copies (the earlier per-tap border handling left a third to half of a 3x3 convolution's time
    /// in packing). A segment's last partial vector is written by an overlapping full vector when the segment has one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int k = KernelSize, s = Stride, dil = Dilation;
        int lanes = TOps.Count;
        int rowsTotal = Channels * k * k;
        if (n < width)
            for (int row = 0; row < rowsTotal; row++)
                for (int j = n; j < width; j++) dst[row * width + j] = 0f;

        int maxShift = (k - 1) * dil / s;
        int phaseLength = OutWidth + maxShift + 2 * lanes;
        float* phases = stackalloc float[s * phaseLength];
        float* odd = stackalloc float[16]; // discarded odd columns of the stride-2 de-interleave
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
                    int iy = oy * s - Padding + ky * dil;
                    if ((uint)iy >= (uint)Height)
                    {
                        for (int kx = 0; kx < k; kx++, row++) Fill<TOps, TV>(seg + row * width, ox0, oxEnd);
                        continue;
                    }
                    FillPhases<TOps, TV>(Input + ((long)ci * Height + iy) * Width, phases, phaseLength, ox0, oxEnd + maxShift, odd);
                    for (int kx = 0; kx < k; kx++, row++)
                    {
                        int t = kx * dil;
                        Copy<TOps, TV>(phases + t % s * phaseLength + t / s, seg + row * width, ox0, oxEnd);
                    }
                }
            }
            done += len;
        }
    }

    /// <summary>phases[r * phaseLength + j] = src[j * s + r - Padding] (0 outside the row) for j in [j0, j1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FillPhases<TOps, TV>(float* src, float* phases, int phaseLength, int j0, int j1, float* odd)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, s = Stride, pad = Padding, w = Width;
        if (s == 1)
        {
            // Interior: j - pad inside the row.
            int lo = Math.Clamp(pad, j0, j1), hi = Math.Clamp(w + pad, j0, j1);
            int j = j0;
            for (; j < lo; j++) phases[j] = 0f;
            for (; j + lanes <= hi; j += lanes) TOps.Store(phases + j, TOps.Load(src + j - pad));
            for (; j < hi; j++) phases[j] = src[j - pad];
            for (; j < j1; j++) phases[j] = 0f;
            return;
        }
        for (int r = 0; r < s; r++)
        {
            float* phase = phases + r * phaseLength;
            // x = j * s + r - pad inside [0, w)  <=>  j in [ceil((pad - r) / s), floor((w - 1 + pad - r) / s)]
            int lo = Math.Clamp(CeilDiv(pad - r, s), j0, j1), hi = Math.Clamp(FloorDiv(w - 1 + pad - r, s) + 1, j0, j1);
            int j = j0;
            for (; j < lo; j++) phase[j] = 0f;
            if (s == 2)
            {
                // Vector narrowing of 2 vectors into one (the even lanes), while both stay inside the row.
                for (; j + lanes <= hi && 2 * (j + lanes) + r - pad <= w; j += lanes)
                    TOps.Deinterleave(src + 2 * j + r - pad, phase + j, odd);
            }
            for (; j < hi; j++) phase[j] = src[j * s + r - pad];
            for (; j < j1; j++) phase[j] = 0f;
        }
    }

    /// <summary>d[ox] = from[ox] for ox in [ox0, oxEnd): whole vectors, the last one overlapping when the run is long enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy<TOps, TV>(float* from, float* d, int ox0, int oxEnd) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int ox = ox0;
        for (; ox + lanes <= oxEnd; ox += lanes) TOps.Store(d + ox, TOps.Load(from + ox));
        if (ox == oxEnd) return;
        if (oxEnd - ox0 >= lanes) TOps.Store(d + oxEnd - lanes, TOps.Load(from + oxEnd - lanes));
        else for (; ox < oxEnd; ox++) d[ox] = from[ox];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fill<TOps, TV>(float* d, int ox0, int oxEnd) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int ox = ox0;
        for (; ox + lanes <= oxEnd; ox += lanes) TOps.Store(d + ox, TOps.Zero);
        for (; ox < oxEnd; ox++) d[ox] = 0f;
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
