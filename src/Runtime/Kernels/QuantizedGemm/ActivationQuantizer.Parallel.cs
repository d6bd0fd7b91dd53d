using System.Numerics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

public static unsafe partial class QuantizedGemm
{
    /// <summary>Below this many floats the quantize step stays on the caller: splitting costs more than it saves.</summary>
    private const long SerialQuantizeElements = 32 * 1024;

    /// <summary>
    /// <see cref="QuantizeActivations"/> on pointers (lengths checked by the caller), split over the pool: the min and
    /// max per block of the tensor (order does not matter to a min or a max), then the packing per range of k-quads
    /// (each quad is written by one item). Bitwise the same for any thread count.
    /// </summary>
    internal static ActivationQuantization QuantizeActivationsSplit(float* x, int k, int n, byte* packed, WorkerPool? pool)
    {
        long count = (long)k * n;
        bool vector = Vector.IsHardwareAccelerated;
        if (pool is null || pool.Threads == 1 || count < SerialQuantizeElements)
        {
            var (min, max) = vector ? MinMaxVector(x, count) : MinMaxScalar(x, count);
            var q = ParametersFor(min, max);
            Pack(x, k, n, packed, 1f / q.Scale, q.ZeroPoint, vector);
            return q;
        }
        int items = 4 * pool.Threads, quads = (k + 3) / 4;
        float* mins = stackalloc float[items], maxs = stackalloc float[items];
        var job = new QuantizeJob
        {
            X = x, Packed = packed, K = k, N = n, Count = count, Items = items, Mins = mins, Maxs = maxs, Vector = vector,
        };
        pool.For(items, &MinMaxItem, &job);
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        for (int i = 0; i < items; i++) { lo = MathF.Min(lo, mins[i]); hi = MathF.Max(hi, maxs[i]); }
        var result = ParametersFor(lo, hi);
        job.Inverse = 1f / result.Scale;
        job.ZeroPoint = result.ZeroPoint;
        job.QuadsPerItem = (quads + items - 1) / items;
        pool.For((quads + job.QuadsPerItem - 1) / job.QuadsPerItem, &PackItem, &job);
        return result;
    }

    private struct QuantizeJob
    {
        public float* X, Mins, Maxs;
        public byte* Packed;
        public long Count;
        public int K, N, Items, QuadsPerItem, ZeroPoint;
        public float Inverse;
        public bool Vector;
    }

    private static void MinMaxItem(void* state, int item, int thread)
    {
        var job = (QuantizeJob*)state;
        // Whole cache lines per item, the last item takes the rest.
        long per = (job->Count / job->Items + 15) & ~15L;
        long start = Math.Min(job->Count, item * per), end = item == job->Items - 1 ? job->Count : Math.Min(job->Count, start + per);
        var (min, max) = job->Vector ? MinMaxVector(job->X + start, end - start) : MinMaxScalar(job->X + start, end - start);
        job->Mins[item] = min;
        job->Maxs[item] = max;
    }

    private static void PackItem(void* state, int item, int thread)
    {
        var job = (QuantizeJob*)state;
        int quad0 = item * job->QuadsPerItem;
        Pack(job->X, job->K, job->N, job->Packed, job->Inverse, job->ZeroPoint, job->Vector, quad0, quad0 + job->QuadsPerItem);
    }
}
