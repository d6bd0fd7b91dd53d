using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Fully connected layer on one vector (the classifier head): a matrix-vector product over the row-major
/// [outFeatures, inFeatures] weight as it comes from the checkpoint, 4 output rows per pass sharing each input load.
/// It streams its weight from memory once per call (2.6 MB for mobilevit-small's 640 -> 1000), so with a pool the
/// rows are split over the threads: each core brings its own memory bandwidth. Every output is computed the same way
/// whichever thread runs it.
/// </summary>
public static unsafe class Linear
{
    public static void Run(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures, WorkerPool? pool = null)
        => RunIsa(input, weight, bias, output, inFeatures, outFeatures, KernelIsa.Best, pool);

    internal static void RunIsa(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, int inFeatures, int outFeatures, Isa isa, WorkerPool? pool = null)
    {
        if (outFeatures <= 0) return;
        if (input.Length < inFeatures || weight.Length < inFeatures * outFeatures || output.Length < outFeatures)
            throw new ArgumentException("input/weight/output too short");
        if (!bias.IsEmpty && bias.Length < outFeatures) throw new ArgumentException("bias too short", nameof(bias));
        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output)
        {
            var job = new Job { X = pIn, W = pW, Bias = bias.IsEmpty ? null : pB, Y = pOut, K = inFeatures, M = outFeatures };
            delegate*<void*, int, int, void> body = isa switch
            {
                Isa.Vector512 => &Item<Ops512, Vector512<float>>,
                Isa.Vector256 => &Item<Ops256, Vector256<float>>,
                Isa.Vector128 => &Item<Ops128, Vector128<float>>,
                _ => &Item<OpsScalar, float>,
            };
            // Items of whole 4-row groups, about 4 per thread (a descheduled thread's share is taken by the others).
            int groups = (outFeatures + 3) / 4;
            job.Items = pool is null || pool.Threads == 1 ? 1 : Math.Min(groups, 4 * pool.Threads);
            if (job.Items == 1) body(&job, 0, 0);
            else pool!.For(job.Items, body, &job);
        }
    }

    private struct Job
    {
        public float* X, W, Bias, Y;
        public int K, M, Items;
    }

    private static void Item<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Job j = ref *(Job*)state;
        int groups = (j.M + 3) / 4;
        int o0 = (int)((long)item * groups / j.Items) * 4, o1 = Math.Min(j.M, (int)((long)(item + 1) * groups / j.Items) * 4);
        Impl<TOps, TV>(j.X, j.W + (long)o0 * j.K, j.Bias == null ? null : j.Bias + o0, j.Y + o0, j.K, o1 - o0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Impl<TOps, TV>(float* x, float* w, float* bias, float* y, int k, int m)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int o = 0;
        for (; o + 4 <= m; o += 4)
        {
            float* w0 = w + (long)o * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            int i = 0;
            for (; i + lanes <= k; i += lanes)
            {
                TV xv = TOps.Load(x + i);
                a0 = TOps.Fma(TOps.Load(w0 + i), xv, a0);
                a1 = TOps.Fma(TOps.Load(w1 + i), xv, a1);
                a2 = TOps.Fma(TOps.Load(w2 + i), xv, a2);
                a3 = TOps.Fma(TOps.Load(w3 + i), xv, a3);
            }
            float s0 = TOps.Sum(a0), s1 = TOps.Sum(a1), s2 = TOps.Sum(a2), s3 = TOps.Sum(a3);
            for (; i < k; i++)
            {
                s0 += w0[i] * x[i]; s1 += w1[i] * x[i]; s2 += w2[i] * x[i]; s3 += w3[i] * x[i];
            }
            y[o] = (bias == null ? 0f : bias[o]) + s0;
            y[o + 1] = (bias == null ? 0f : bias[o + 1]) + s1;
            y[o + 2] = (bias == null ? 0f : bias[o + 2]) + s2;
            y[o + 3] = (bias == null ? 0f : bias[o + 3]) + s3;
        }
        for (; o < m; o++)
        {
            float* w0 = w + (long)o * k;
            TV a0 = TOps.Zero;
            int i = 0;
            for (; i + lanes <= k; i += lanes) a0 = TOps.Fma(TOps.Load(w0 + i), TOps.Load(x + i), a0);
            float s0 = TOps.Sum(a0);
            for (; i < k; i++) s0 += w0[i] * x[i];
            y[o] = (bias == null ? 0f : bias[o]) + s0;
        }
    }
}
