using System.Numerics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>Below this many floats the quantize step stays on the caller: splitting costs more than it saves.</summary>
    private const long SerialQuantizeElements = 32 * 1024;

    /// <summary>
    /// <see cref="QuantizeActivations"/> on pointers (lengths checked by the caller), split over the pool by ranges of
    /// 16-pixel tiles: each pixel's parameters depend on its own values only, so the items are independent and the
    /// result is bitwise the same for any thread count.
    /// </summary>
    internal static void QuantizeActivationsSplit(float* x, int k, int n, byte* packed, WorkerPool? pool)
    {
        bool vector = Vector.IsHardwareAccelerated;
        int tiles = PaddedPixels(n) / TilePixels;
        if (pool is null || pool.Threads == 1 || (long)k * n < SerialQuantizeElements || tiles < 2)
        {
            Pack(x, k, n, packed, vector, 0, n);
            return;
        }
        int items = Math.Min(tiles, 4 * pool.Threads);
        var job = new QuantizeJob { X = x, Packed = packed, K = k, N = n, Items = items, Tiles = tiles, Vector = vector };
        pool.For(items, &PackItem, &job);
    }

    private struct QuantizeJob
    {
        public float* X;
        public byte* Packed;
        public int K, N, Items, Tiles;
        public bool Vector;
    }

    private static void PackItem(void* state, int item, int thread)
    {
        var job = (QuantizeJob*)state;
        int t0 = (int)((long)job->Tiles * item / job->Items), t1 = (int)((long)job->Tiles * (item + 1) / job->Items);
        int p0 = t0 * TilePixels, p1 = Math.Min(job->N, t1 * TilePixels);
        if (p0 < p1) Pack(job->X, job->K, job->N, job->Packed, job->Vector, p0, p1);
    }
}
