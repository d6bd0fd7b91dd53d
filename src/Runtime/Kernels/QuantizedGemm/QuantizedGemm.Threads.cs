using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>
    /// Runs the GEMM on the caller or split over the pool: items are chunks of whole pixel blocks, about 4 per thread so
    /// a descheduled thread's share is picked up by the others; with too few blocks (small maps) the weight panels are
    /// split as well. Every output element is one microkernel's exact int32 sum and the same float epilogue whichever
    /// item computes it, so the result is bitwise identical for any thread count.
    /// </summary>
    private static void Split<TOps, TV, TAct>(ref Job job, WorkerPool? pool)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        int block = TOps.Vectors * TOps.Lanes, n = job.N, m = job.M;
        int blocks = (n + block - 1) / block, panels = (m + QuantizedWeights.PanelRows - 1) / QuantizedWeights.PanelRows;
        if (pool is null || pool.Threads == 1 || blocks * panels < 2)
        {
            Run<TOps, TV, TAct>(ref job, 0, n, 0, m);
            return;
        }
        int target = 4 * pool.Threads;
        int chunk = Math.Max(1, blocks / target), chunks = (blocks + chunk - 1) / chunk;
        int groups = chunks >= target ? 1 : Math.Min(panels, (target + chunks - 1) / chunks);
        job.ChunkPixels = chunk * block;
        job.Groups = groups;
        job.PanelsPerGroup = (panels + groups - 1) / groups;
        fixed (Job* p = &job) pool.For(chunks * groups, &Item<TOps, TV, TAct>, p);
    }

    private static void Item<TOps, TV, TAct>(void* state, int item, int thread)
        where TOps : struct, IQuadDot<TV> where TV : struct where TAct : struct, IActivation
    {
        ref Job job = ref *(Job*)state;
        int chunk = item / job.Groups, group = item % job.Groups;
        int p0 = chunk * job.ChunkPixels, p1 = Math.Min(job.N, p0 + job.ChunkPixels);
        int m0 = group * job.PanelsPerGroup * QuantizedWeights.PanelRows;
        int m1 = Math.Min(job.M, m0 + job.PanelsPerGroup * QuantizedWeights.PanelRows);
        if (m0 < m1) Run<TOps, TV, TAct>(ref job, p0, p1, m0, m1);
    }
}

/// <summary>
/// A <see cref="QuantizedWeights"/> read in place: the managed arrays (pinned by the caller) or an encoded entry
/// (<see cref="QuantizedWeights.Encode(ReadOnlySpan{float}, int, int)"/>) in native memory, with no copy.
/// </summary>
internal readonly unsafe struct QuantizedWeightsView(int k, int m, byte* packed, float* scales, int* rowSums)
{
    public int K { get; } = k;
    public int M { get; } = m;
    public byte* Packed { get; } = packed;
    public float* Scales { get; } = scales;
    public int* RowSums { get; } = rowSums;
    /// <summary>K rounded up to whole k-quads, in quads.</summary>
    public int KQuads => (K + 3) / 4;

    /// <summary>The view of an encoded entry (its length already checked against <see cref="QuantizedWeights.EncodedLength"/>).</summary>
    public static QuantizedWeightsView Encoded(float* entry, int k, int m)
        => new(k, m, (byte*)(entry + 2 * m), entry, (int*)(entry + m));
}
