using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// The GEMM input packer of a 1x1 convolution whose input goes through a single-group GroupNorm first (MobileViTV2's
/// norm before every attention, feed-forward and the fold): the mean and scale come from a statistics pass over the
/// whole map (<see cref="GroupNorm.Statistics"/>), then each packed block is normalized in place while it is in L1,
/// so the normalized map is never written and read back. Per element (x - mean) * scale[c] + beta[c] with the same
/// three operations as <see cref="GroupNorm.SingleGroup"/>, so the result is bitwise the same as the two kernels
/// run one after the other.
/// </summary>
internal unsafe struct GroupNormPacker : IPanelPacker
{
    public RowMajorPacker Rows;
    /// <summary>scale[c] = inverse standard deviation x gamma[c], per input channel.</summary>
    public float* Scale, Beta;
    public float Mean;

    public void Prefetch(int p0, int p1, int k0, int k1) => Rows.Prefetch(p0, p1, k0, k1);

    /// <summary>Every block is packed (the packing does the work).</summary>
    public float* DirectRows(out int stride)
    {
        stride = 0;
        return null;
    }

    /// <summary>
    /// Whole blocks are normalized on the way from the input rows to the panel (one pass; copying first and
    /// normalizing the copy read and wrote every packed float twice); a partial last block as <see cref="Pack"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PackChunk<TOps, TV>(float* dst, int p0, int p1, int k) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, blockWidth = 3 * lanes, K = Rows.K;
        int full = p0 + (p1 - p0) / blockWidth * blockWidth;
        TV mean = TOps.Broadcast(Mean);
        for (int c = 0; c < K; c++)
        {
            float* src = Rows.Input + (long)c * Rows.N;
            float* d = dst + c * blockWidth;
            TV scale = TOps.Broadcast(Scale[c]), shift = TOps.Broadcast(Beta[c]);
            for (int q = p0; q < full; q += blockWidth, d += (long)K * blockWidth)
            {
                TOps.Store(d, Normalized<TOps, TV>(TOps.Load(src + q), mean, scale, shift));
                TOps.Store(d + lanes, Normalized<TOps, TV>(TOps.Load(src + q + lanes), mean, scale, shift));
                TOps.Store(d + 2 * lanes, Normalized<TOps, TV>(TOps.Load(src + q + 2 * lanes), mean, scale, shift));
            }
        }
        if (full < p1)
        {
            int cols = p1 - full;
            Pack<TOps, TV>(dst + (long)(full - p0) * K, full, cols, (cols + lanes - 1) / lanes * lanes);
        }
    }

    public void Pack<TOps, TV>(float* dst, int p0, int n, int width) where TOps : struct, IVecOps<TV> where TV : struct
    {
        Rows.Pack<TOps, TV>(dst, p0, n, width);
        Normalize<TOps, TV>(dst, width, width);
    }

    /// <summary>K rows of <paramref name="width"/> floats (a multiple of the vector width) at stride ld, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Normalize<TOps, TV>(float* block, int width, int ld) where TOps : struct, IVecOps<TV> where TV : struct
    {
        TV mean = TOps.Broadcast(Mean);
        for (int c = 0; c < Rows.K; c++, block += ld)
        {
            TV scale = TOps.Broadcast(Scale[c]), shift = TOps.Broadcast(Beta[c]);
            for (int j = 0; j < width; j += TOps.Count)
                TOps.Store(block + j, Normalized<TOps, TV>(TOps.Load(block + j), mean, scale, shift));
        }
    }

    /// <summary>(x - mean) * scale + shift: the same three operations, in the same order, as GroupNorm.SingleGroup.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Normalized<TOps, TV>(TV x, TV mean, TV scale, TV shift) where TOps : struct, IVecOps<TV> where TV : struct
        => TOps.Add(TOps.Mul(TOps.Sub(x, mean), scale), shift);
}
