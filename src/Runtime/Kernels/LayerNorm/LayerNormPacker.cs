using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The GEMM input packer of a 1x1 convolution (or linear layer) whose input is LayerNorm'ed over channels first, as
/// in every pre-norm transformer layer: each pixel block is copied like <see cref="RowMajorPacker"/> does, then
/// normalized in place while it is in L1 (the block holds every channel of its pixels). So the normalized map is
/// never written to memory and read back, and at 2 threads no core waits for the other's cache lines: the separate
/// LayerNorm ran at half speed there. Same arithmetic as <see cref="LayerNorm.Channels"/>'s vector path (corrected
/// two-pass variance), lane by lane, so the result does not depend on how pixels are split into blocks or threads.
/// </summary>
internal unsafe struct LayerNormPacker : IPanelPacker
{
    public RowMajorPacker Rows;
    public float* Gamma, Beta;
    public float Epsilon;

    public void Prefetch(int p0, int p1, int k0, int k1) => Rows.Prefetch(p0, p1, k0, k1);

    /// <summary>Every block is packed (the packing does the work).</summary>
    public float* DirectRows(out int stride)
    {
        stride = 0;
        return null;
    }

    public void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct
    {
        Rows.PackChunk<TOps, TV>(dst, p0, p1, k);
        int lanes = TOps.Count, blockWidth = 3 * lanes, K = Rows.K;
        for (int q = p0; q < p1; q += blockWidth)
        {
            int cols = Math.Min(blockWidth, p1 - q);
            Normalize<TOps, TV>(dst + (long)(q - p0) * K, K, (cols + lanes - 1) / lanes);
        }
    }

    public void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct
    {
        Rows.Pack<TOps, TV>(dst, p0, n, width);
        for (int v = 0; v < width / TOps.Count; v += 3)
            NormalizeColumns<TOps, TV>(dst + v * TOps.Count, Rows.K, width, Math.Min(3, width / TOps.Count - v));
    }

    /// <summary>A block of k rows of nv vectors, contiguous (row stride nv vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Normalize<TOps, TV>(float* block, int k, int nv) where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (nv == 3) NormalizeColumns<TOps, TV>(block, k, 3 * TOps.Count, 3);
        else if (nv == 2) NormalizeColumns<TOps, TV>(block, k, 2 * TOps.Count, 2);
        else NormalizeColumns<TOps, TV>(block, k, TOps.Count, 1);
    }

    /// <summary>
    /// Normalizes nv (1-3) vector columns of k rows at stride ld in place: mean, then the corrected two-pass variance
    /// (the centred values' own mean removes the float mean's rounding error), then (x - mean - shift) / sd * g + b.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NormalizeColumns<TOps, TV>(float* x, int k, int ld, int nv) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        TV count = TOps.Broadcast(k);
        TV m0 = TOps.Load(x), m1 = nv > 1 ? TOps.Load(x + lanes) : default, m2 = nv > 2 ? TOps.Load(x + 2 * lanes) : default;
        float* row = x + ld;
        for (int c = 1; c < k; c++, row += ld)
        {
            m0 = TOps.Add(m0, TOps.Load(row));
            if (nv > 1) m1 = TOps.Add(m1, TOps.Load(row + lanes));
            if (nv > 2) m2 = TOps.Add(m2, TOps.Load(row + 2 * lanes));
        }
        m0 = TOps.Div(m0, count);
        if (nv > 1) m1 = TOps.Div(m1, count);
        if (nv > 2) m2 = TOps.Div(m2, count);
        TV s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, q0 = TOps.Zero, q1 = TOps.Zero, q2 = TOps.Zero;
        row = x;
        for (int c = 0; c < k; c++, row += ld)
        {
            TV d = TOps.Sub(TOps.Load(row), m0);
            s0 = TOps.Add(s0, d); q0 = TOps.Fma(d, d, q0);
            if (nv > 1) { d = TOps.Sub(TOps.Load(row + lanes), m1); s1 = TOps.Add(s1, d); q1 = TOps.Fma(d, d, q1); }
            if (nv > 2) { d = TOps.Sub(TOps.Load(row + 2 * lanes), m2); s2 = TOps.Add(s2, d); q2 = TOps.Fma(d, d, q2); }
        }
        TV invCount = TOps.Div(TOps.Broadcast(1f), count), eps = TOps.Broadcast(Epsilon), one = TOps.Broadcast(1f);
        Finish<TOps, TV>(ref s0, ref q0, invCount, count, eps, one);
        if (nv > 1) Finish<TOps, TV>(ref s1, ref q1, invCount, count, eps, one);
        if (nv > 2) Finish<TOps, TV>(ref s2, ref q2, invCount, count, eps, one);
        row = x;
        for (int c = 0; c < k; c++, row += ld)
        {
            TV g = TOps.Broadcast(Gamma[c]), b = TOps.Broadcast(Beta[c]);
            TOps.Store(row, TOps.Fma(TOps.Mul(TOps.Sub(TOps.Sub(TOps.Load(row), m0), s0), q0), g, b));
            if (nv > 1) TOps.Store(row + lanes, TOps.Fma(TOps.Mul(TOps.Sub(TOps.Sub(TOps.Load(row + lanes), m1), s1), q1), g, b));
            if (nv > 2) TOps.Store(row + 2 * lanes, TOps.Fma(TOps.Mul(TOps.Sub(TOps.Sub(TOps.Load(row + 2 * lanes), m2), s2), q2), g, b));
        }
    }

    /// <summary>shift = sum(d) / n; sumSquares becomes 1 / sqrt(max(sum(d^2) / n - shift^2, 0) + eps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TOps, TV>(ref TV shift, ref TV sumSquares, TV invCount, TV count, TV eps, TV one)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        shift = TOps.Mul(shift, invCount);
        TV variance = TOps.Max(TOps.Sub(TOps.Div(sumSquares, count), TOps.Mul(shift, shift)), TOps.Zero);
        sumSquares = TOps.Div(one, TOps.Sqrt(TOps.Add(variance, eps)));
    }
}
