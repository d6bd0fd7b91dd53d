using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViTV2's separable self-attention over the unfolded patches, with unfold and fold as index mapping:
/// the tokens that attend together are the pixels at the same offset inside their patch. Linear in the number
/// of tokens: one softmax over the query channel, one weighted sum of keys (the context vector), then
/// relu(value) * context.
/// <para>
/// 2x2 patches on maps of even sizes (every MobileViTV2 map; rows of 4n + 2 floats end in a partial vector) are
/// vectorized over image rows,
/// where the two patch columns alternate lane by lane: the softmax weights become a map with the pixels' own layout,
/// each context value is an even- or odd-lane sum, and the output a row times an alternating context vector. Output
/// channels are split over the pool's threads (the weights are computed once, before). Sums run in another order
/// than the scalar path's (which other shapes take), so results differ from it by float rounding.
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe class SeparableAttention
{
    /// <summary>Scratch floats <see cref="Run"/> needs: tokens + channels (the generator uses the same formula).</summary>
    public static int ScratchLength(int tokens, int channels) => tokens + channels;

    /// <summary>Below this many floats of keys a call is a few microseconds: it stays on one thread.</summary>
    private const int SerialMaxElements = 32 * 1024;

    /// <param name="qkv">[1 + 2 * channels, height, width]: the query channel, then keys, then values.</param>
    /// <param name="output">[channels, height, width].</param>
    public static void Run(ReadOnlySpan<float> qkv, Span<float> output, int channels, int height, int width,
        int patchHeight, int patchWidth, Span<float> scratch, WorkerPool? pool = null)
        => RunIsa(qkv, output, channels, height, width, patchHeight, patchWidth, scratch, KernelIsa.Best, pool);

    internal static void RunIsa(ReadOnlySpan<float> qkv, Span<float> output, int channels, int height, int width,
        int patchHeight, int patchWidth, Span<float> scratch, Isa isa, WorkerPool? pool = null)
    {
        int pixels = height * width;
        int patchesX = width / patchWidth, patchesY = height / patchHeight;
        int tokens = patchesX * patchesY;
        if (qkv.Length < (1 + 2 * channels) * pixels || output.Length < channels * pixels || scratch.Length < tokens + channels)
            throw new ArgumentException("qkv, output or scratch is too short");
        if (tokens == 0 || channels == 0) return;
        isa = PairsPath(height, width, patchHeight, patchWidth, isa);
        if (isa != Isa.Scalar)
        {
            fixed (float* pQkv = qkv, pOut = output)
            {
                var job = new Job { Qkv = pQkv, Output = pOut, Channels = channels, Height = height, Width = width };
                switch (isa)
                {
                    case Isa.Vector512: Pairs<Ops512, Vector512<float>>(ref job, pool); break;
                    case Isa.Vector256: Pairs<Ops256, Vector256<float>>(ref job, pool); break;
                    default: Pairs<Ops128, Vector128<float>>(ref job, pool); break;
                }
            }
            return;
        }
        // Tokens are visited row of patches by row of patches (no division per element), in the same order as
        // before, so every sum keeps its order and the results their bits.
        int rowStep = patchHeight * width;
        fixed (float* pQkv = qkv, pOut = output, pScratch = scratch)
        {
            float* scores = pScratch, context = pScratch + tokens;
            for (int py = 0; py < patchHeight; py++)
            for (int px = 0; px < patchWidth; px++)
            {
                int first = py * width + px; // pixel of token 0 at this offset
                // softmax of the query over this offset's tokens
                float max = float.NegativeInfinity;
                for (int row = 0, n = 0; row < patchesY; row++)
                    for (float* q = pQkv + first + row * rowStep, end = q + patchesX * patchWidth; q < end; q += patchWidth, n++)
                        max = MathF.Max(max, *q);
                float total = 0;
                for (int row = 0, n = 0; row < patchesY; row++)
                    for (float* q = pQkv + first + row * rowStep, end = q + patchesX * patchWidth; q < end; q += patchWidth, n++)
                    {
                        float e = MathF.Exp(*q - max);
                        scores[n] = e;
                        total += e;
                    }
                float inverse = 1f / total;
                for (int n = 0; n < tokens; n++) scores[n] *= inverse;

                // context[c] = sum_n key[c, n] * score[n]
                for (int c = 0; c < channels; c++)
                {
                    float* keys = pQkv + (long)(1 + c) * pixels + first;
                    float sum = 0;
                    for (int row = 0, n = 0; row < patchesY; row++)
                        for (float* k = keys + row * rowStep, end = k + patchesX * patchWidth; k < end; k += patchWidth, n++)
                            sum += *k * scores[n];
                    context[c] = sum;
                }

                // out[c, n] = relu(value[c, n]) * context[c]
                for (int c = 0; c < channels; c++)
                {
                    float* values = pQkv + (long)(1 + channels + c) * pixels + first;
                    float* target = pOut + (long)c * pixels + first;
                    float k = context[c];
                    for (int row = 0; row < patchesY; row++)
                        for (int x = row * rowStep, end = x + patchesX * patchWidth; x < end; x += patchWidth)
                            target[x] = MathF.Max(values[x], 0f) * k;
                }
            }
        }
    }


    /// <summary>
    /// The vectors the 2x2-patch path runs a map on: the widest whose vectors tile a row (a row's lanes must start at
    /// an even column), else Vector128 with a partial last vector per row (widths 2, 6, 10, 14: a 224 input's 14x14
    /// and 6x6 maps, which took the scalar loops before); Scalar for other patches and odd sizes (the scalar loops).
    /// </summary>
    internal static Isa PairsPath(int height, int width, int patchHeight, int patchWidth, Isa isa)
    {
        if (isa == Isa.Scalar || patchHeight != 2 || patchWidth != 2 || height % 2 != 0 || width % 2 != 0) return Isa.Scalar;
        if (isa == Isa.Vector512 && width % 16 != 0) isa = Isa.Vector256;
        if (isa == Isa.Vector256 && width % 8 != 0) isa = Isa.Vector128;
        return isa;
    }

    private struct Job
    {
        public float* Qkv, Output, Weights, Context;
        public int Channels, Height, Width, Items;
    }

    /// <summary>
    /// The vector path for 2x2 patches: softmax weights e^(q - max) as a map, the 4 offsets' maxima and 1 / sums
    /// from even and odd lanes of row-parity accumulators; then per output channel (split over threads) the context
    /// and the output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pairs<TOps, TV>(ref Job j, WorkerPool? pool) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count, width = j.Width, pixels = j.Height * width;
        // Whole vectors of a row, then (Vector128 on widths 4n + 2 only) its last even and odd column as a partial vector.
        int full = width / lanes * lanes, tail = width - full;
        // The weights map, then the 4 offsets' 1 / sum (index py * 2 + px), the two rows' max vectors, a lane buffer.
        float* weights = KernelIsa.ThreadPointer(pixels + 4 + 2 * lanes + 2 * lanes);
        float* inverse = weights + pixels, maxRows = inverse + 4, lanesTmp = maxRows + 2 * lanes;
        float* q = j.Qkv;
        TV m0 = TOps.Broadcast(float.NegativeInfinity), m1 = m0;
        for (int y = 0; y < j.Height; y += 2)
        {
            for (int x = 0; x < full; x += lanes)
            {
                m0 = TOps.Max(m0, TOps.Load(q + y * width + x));
                m1 = TOps.Max(m1, TOps.Load(q + (y + 1) * width + x));
            }
            if (tail != 0)
            {
                m0 = TOps.Max(m0, LoadPartial<TOps, TV>(q + y * width + full, tail, float.NegativeInfinity, lanesTmp));
                m1 = TOps.Max(m1, LoadPartial<TOps, TV>(q + (y + 1) * width + full, tail, float.NegativeInfinity, lanesTmp));
            }
        }
        AlternateMax<TOps, TV>(m0, maxRows, lanesTmp);
        AlternateMax<TOps, TV>(m1, maxRows + lanes, lanesTmp);
        TV log2e = TOps.Broadcast(1.44269504088896341f), s0 = TOps.Zero, s1 = TOps.Zero;
        TV mx0 = TOps.Load(maxRows), mx1 = TOps.Load(maxRows + lanes);
        for (int y = 0; y < j.Height; y += 2)
        {
            for (int x = 0; x < full; x += lanes)
            {
                int p0 = y * width + x, p1 = p0 + width;
                TV e0 = TOps.Exp2(TOps.Mul(TOps.Sub(TOps.Load(q + p0), mx0), log2e));
                TV e1 = TOps.Exp2(TOps.Mul(TOps.Sub(TOps.Load(q + p1), mx1), log2e));
                TOps.Store(weights + p0, e0);
                TOps.Store(weights + p1, e1);
                s0 = TOps.Add(s0, e0);
                s1 = TOps.Add(s1, e1);
            }
            if (tail != 0)
            {
                // The weights are stored for the row's columns only and read back with zeros in the other lanes.
                int p0 = y * width + full, p1 = p0 + width;
                TV e0 = TOps.Exp2(TOps.Mul(TOps.Sub(LoadPartial<TOps, TV>(q + p0, tail, 0f, lanesTmp), mx0), log2e));
                TV e1 = TOps.Exp2(TOps.Mul(TOps.Sub(LoadPartial<TOps, TV>(q + p1, tail, 0f, lanesTmp), mx1), log2e));
                StorePartial<TOps, TV>(weights + p0, e0, tail, lanesTmp);
                StorePartial<TOps, TV>(weights + p1, e1, tail, lanesTmp);
                s0 = TOps.Add(s0, LoadPartial<TOps, TV>(weights + p0, tail, 0f, lanesTmp));
                s1 = TOps.Add(s1, LoadPartial<TOps, TV>(weights + p1, tail, 0f, lanesTmp));
            }
        }
        PairSums<TOps, TV>(s0, lanesTmp, out float even0, out float odd0);
        PairSums<TOps, TV>(s1, lanesTmp, out float even1, out float odd1);
        inverse[0] = 1f / even0; inverse[1] = 1f / odd0; inverse[2] = 1f / even1; inverse[3] = 1f / odd1;
        j.Weights = weights;
        j.Context = inverse;
        j.Items = pool is null || pool.Threads == 1 || (long)j.Channels * pixels < SerialMaxElements ? 1 : Math.Min(j.Channels, 3 * pool.Threads);
        fixed (Job* job = &j)
        {
            if (j.Items == 1) Channels<TOps, TV>(job, 0, 0);
            else pool!.For(j.Items, &Channels<TOps, TV>, job);
        }
    }

    /// <summary>Context and output of the channels of item <paramref name="item"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Channels<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int lanes = TOps.Count, width = j.Width, pixels = j.Height * width;
        int full = width / lanes * lanes, tail = width - full; // as in Pairs
        int c0 = (int)((long)item * j.Channels / j.Items), c1 = (int)((long)(item + 1) * j.Channels / j.Items);
        float* tmp = stackalloc float[16];
        float* context = stackalloc float[2 * 16];
        for (int c = c0; c < c1; c++)
        {
            float* keys = j.Qkv + (long)(1 + c) * pixels;
            TV a0 = TOps.Zero, a1 = TOps.Zero;
            for (int y = 0; y < j.Height; y += 2)
            {
                for (int x = 0; x < full; x += lanes)
                {
                    int p0 = y * width + x, p1 = p0 + width;
                    a0 = TOps.Fma(TOps.Load(keys + p0), TOps.Load(j.Weights + p0), a0);
                    a1 = TOps.Fma(TOps.Load(keys + p1), TOps.Load(j.Weights + p1), a1);
                }
                if (tail != 0)
                {
                    int p0 = y * width + full, p1 = p0 + width;
                    a0 = TOps.Fma(LoadPartial<TOps, TV>(keys + p0, tail, 0f, tmp), LoadPartial<TOps, TV>(j.Weights + p0, tail, 0f, tmp), a0);
                    a1 = TOps.Fma(LoadPartial<TOps, TV>(keys + p1, tail, 0f, tmp), LoadPartial<TOps, TV>(j.Weights + p1, tail, 0f, tmp), a1);
                }
            }
            PairSums<TOps, TV>(a0, tmp, out float even0, out float odd0);
            PairSums<TOps, TV>(a1, tmp, out float even1, out float odd1);
            for (int i = 0; i < lanes; i += 2)
            {
                context[i] = even0 * j.Context[0]; context[i + 1] = odd0 * j.Context[1];
                context[lanes + i] = even1 * j.Context[2]; context[lanes + i + 1] = odd1 * j.Context[3];
            }
            TV k0 = TOps.Load(context), k1 = TOps.Load(context + lanes);
            float* values = j.Qkv + (long)(1 + j.Channels + c) * pixels;
            float* target = j.Output + (long)c * pixels;
            for (int y = 0; y < j.Height; y += 2)
            {
                for (int x = 0; x < full; x += lanes)
                {
                    int p0 = y * width + x, p1 = p0 + width;
                    TOps.Store(target + p0, TOps.Mul(TOps.Max(TOps.Load(values + p0), TOps.Zero), k0));
                    TOps.Store(target + p1, TOps.Mul(TOps.Max(TOps.Load(values + p1), TOps.Zero), k1));
                }
                if (tail != 0)
                {
                    int p0 = y * width + full, p1 = p0 + width;
                    StorePartial<TOps, TV>(target + p0, TOps.Mul(TOps.Max(LoadPartial<TOps, TV>(values + p0, tail, 0f, tmp), TOps.Zero), k0), tail, tmp);
                    StorePartial<TOps, TV>(target + p1, TOps.Mul(TOps.Max(LoadPartial<TOps, TV>(values + p1, tail, 0f, tmp), TOps.Zero), k1), tail, tmp);
                }
            }
        }
    }

    /// <summary>The <paramref name="count"/> floats at p (fewer than a vector: a row's end) and <paramref name="fill"/> in the other lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV LoadPartial<TOps, TV>(float* p, int count, float fill, float* tmp) where TOps : struct, IVecOps<TV> where TV : struct
    {
        for (int i = 0; i < TOps.Count; i++) tmp[i] = i < count ? p[i] : fill;
        return TOps.Load(tmp);
    }

    /// <summary>Stores the first <paramref name="count"/> lanes of v at p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial<TOps, TV>(float* p, TV v, int count, float* tmp) where TOps : struct, IVecOps<TV> where TV : struct
    {
        TOps.Store(tmp, v);
        for (int i = 0; i < count; i++) p[i] = tmp[i];
    }

    /// <summary>Sums of the even and of the odd lanes of v (in lane order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairSums<TOps, TV>(TV v, float* tmp, out float even, out float odd) where TOps : struct, IVecOps<TV> where TV : struct
    {
        TOps.Store(tmp, v);
        even = 0f; odd = 0f;
        for (int i = 0; i < TOps.Count; i += 2) { even += tmp[i]; odd += tmp[i + 1]; }
    }

    /// <summary>dst = [m_even, m_odd, m_even, ...]: the even and the odd lanes' maxima, alternating.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AlternateMax<TOps, TV>(TV v, float* dst, float* tmp) where TOps : struct, IVecOps<TV> where TV : struct
    {
        TOps.Store(tmp, v);
        float even = tmp[0], odd = tmp[1];
        for (int i = 2; i < TOps.Count; i += 2) { even = MathF.Max(even, tmp[i]); odd = MathF.Max(odd, tmp[i + 1]); }
        for (int i = 0; i < TOps.Count; i += 2) { dst[i] = even; dst[i + 1] = odd; }
    }
}
