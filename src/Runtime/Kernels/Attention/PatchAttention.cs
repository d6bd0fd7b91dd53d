using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileViT's unfold, multi-head self-attention and fold in one kernel: the unfold/fold are index mapping
/// (tokens at the same offset inside their patch attend to each other), so no patch tensor is ever built.
/// <para>
/// Per patch offset and head: gather Q (pre-scaled by 1/sqrt(headDim)), K and V of the N tokens into scratch as
/// [headDim, N] (token-contiguous); scores S = Q^T K with a 4-row x 2-vector register tile; row softmax with
/// max subtraction, normalized in place; context[i, d] = dot(S[i, :], V[d, :]) with a 2 x 4 tile of dot products,
/// scattered straight into the output map.
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe class PatchAttention
{
    /// <summary>Scratch floats <see cref="Run"/> needs: tokens * tokens + 3 * tokens * headDim (the generator uses the same formula).</summary>
    public static int ScratchLength(int tokens, int headDim) => tokens * tokens + 3 * tokens * headDim;

    /// <param name="qkv">[3 * hidden, height, width]: query, key, value maps one after another.</param>
    /// <param name="output">[hidden, height, width]: the attention context (before the output projection).</param>
    public static void Run(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth, Span<float> scratch)
        => RunIsa(qkv, output, hidden, heads, height, width, patchHeight, patchWidth, scratch, KernelIsa.Best);

    internal static void RunIsa(ReadOnlySpan<float> qkv, Span<float> output, int hidden, int heads,
        int height, int width, int patchHeight, int patchWidth, Span<float> scratch, Isa isa)
    {
        int headDim = hidden / heads;
        int tokens = (height / patchHeight) * (width / patchWidth);
        if (tokens <= 0 || headDim <= 0) return;
        if (qkv.Length < 3 * hidden * height * width) throw new ArgumentException("qkv too short", nameof(qkv));
        if (output.Length < hidden * height * width) throw new ArgumentException("output too short", nameof(output));
        if (scratch.Length < ScratchLength(tokens, headDim)) throw new ArgumentException("scratch too short", nameof(scratch));
        fixed (float* pQkv = qkv, pOut = output, pScratch = scratch)
        {
            var a = new Args
            {
                Qkv = pQkv, Output = pOut, Scratch = pScratch, Hidden = hidden, Heads = heads, HeadDim = headDim,
                Height = height, Width = width, PatchHeight = patchHeight, PatchWidth = patchWidth, Tokens = tokens,
            };
            switch (isa)
            {
                case Isa.Vector512: Impl<Ops512, Vector512<float>>(in a); break;
                case Isa.Vector256: Impl<Ops256, Vector256<float>>(in a); break;
                case Isa.Vector128: Impl<Ops128, Vector128<float>>(in a); break;
                default: Impl<OpsScalar, float>(in a); break;
            }
        }
    }

    private struct Args
    {
        public float* Qkv, Output, Scratch;
        public int Hidden, Heads, HeadDim, Height, Width, PatchHeight, PatchWidth, Tokens;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Impl<TOps, TV>(in Args a) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int n = a.Tokens, dim = a.HeadDim;
        int pixels = a.Height * a.Width;
        int patchesX = a.Width / a.PatchWidth;
        float scale = 1f / MathF.Sqrt(dim);
        float* s = a.Scratch;
        float* qt = s + (long)n * n;
        float* kt = qt + (long)n * dim;
        float* vt = kt + (long)n * dim;
        for (int py = 0; py < a.PatchHeight; py++)
        for (int px = 0; px < a.PatchWidth; px++)
        {
            int first = py * a.Width + px; // pixel of token 0
            for (int h = 0; h < a.Heads; h++)
            {
                int q0 = h * dim, k0 = a.Hidden + h * dim, v0 = 2 * a.Hidden + h * dim;
                for (int d = 0; d < dim; d++)
                {
                    Gather(a.Qkv + (long)(q0 + d) * pixels + first, qt + (long)d * n, n, patchesX, a.PatchWidth, a.PatchHeight * a.Width, scale);
                    Gather(a.Qkv + (long)(k0 + d) * pixels + first, kt + (long)d * n, n, patchesX, a.PatchWidth, a.PatchHeight * a.Width, 1f);
                    Gather(a.Qkv + (long)(v0 + d) * pixels + first, vt + (long)d * n, n, patchesX, a.PatchWidth, a.PatchHeight * a.Width, 1f);
                }
                Scores<TOps, TV>(qt, kt, s, n, dim);
                for (int i = 0; i < n; i++) Softmax<TOps, TV>(s + (long)i * n, n);
                Context<TOps, TV>(s, vt, a.Output + (long)q0 * pixels + first, n, dim, pixels, patchesX, a.PatchWidth, a.PatchHeight * a.Width);
            }
        }
    }

    /// <summary>dst[t] = src[(t / patchesX) * rowStride + (t % patchesX) * colStride] * scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(float* src, float* dst, int n, int patchesX, int colStride, int rowStride, float scale)
    {
        int t = 0;
        for (float* row = src; t < n; row += rowStride)
            for (int x = 0; x < patchesX; x++, t++) dst[t] = row[x * colStride] * scale;
    }

    /// <summary>S[i, j] = sum_d qt[d, i] * kt[d, j] (qt, kt are [dim, n]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores<TOps, TV>(float* qt, float* kt, float* s, int n, int dim)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int i = 0;
        for (; i + 4 <= n; i += 4) ScoreRows<TOps, TV>(4, qt + i, kt, s + (long)i * n, n, dim);
        for (; i < n; i++) ScoreRows<TOps, TV>(1, qt + i, kt, s + (long)i * n, n, dim);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScoreRows<TOps, TV>(int rows, float* q, float* kt, float* s, int n, int dim)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int j = 0;
        for (; j + 2 * lanes <= n; j += 2 * lanes)
        {
            TV c00 = TOps.Zero, c01 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero;
            TV c20 = TOps.Zero, c21 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero;
            float* qd = q, kd = kt + j;
            for (int d = 0; d < dim; d++, qd += n, kd += n)
            {
                TV b0 = TOps.Load(kd), b1 = TOps.Load(kd + lanes);
                TV w = TOps.Broadcast(qd[0]);
                c00 = TOps.Fma(w, b0, c00); c01 = TOps.Fma(w, b1, c01);
                if (rows > 1)
                {
                    w = TOps.Broadcast(qd[1]); c10 = TOps.Fma(w, b0, c10); c11 = TOps.Fma(w, b1, c11);
                    w = TOps.Broadcast(qd[2]); c20 = TOps.Fma(w, b0, c20); c21 = TOps.Fma(w, b1, c21);
                    w = TOps.Broadcast(qd[3]); c30 = TOps.Fma(w, b0, c30); c31 = TOps.Fma(w, b1, c31);
                }
            }
            TOps.Store(s + j, c00); TOps.Store(s + j + lanes, c01);
            if (rows > 1)
            {
                TOps.Store(s + n + j, c10); TOps.Store(s + n + j + lanes, c11);
                TOps.Store(s + 2 * n + j, c20); TOps.Store(s + 2 * n + j + lanes, c21);
                TOps.Store(s + 3 * n + j, c30); TOps.Store(s + 3 * n + j + lanes, c31);
            }
        }
        for (; j + lanes <= n; j += lanes)
        {
            TV c00 = TOps.Zero, c10 = TOps.Zero, c20 = TOps.Zero, c30 = TOps.Zero;
            float* qd = q, kd = kt + j;
            for (int d = 0; d < dim; d++, qd += n, kd += n)
            {
                TV b0 = TOps.Load(kd);
                c00 = TOps.Fma(TOps.Broadcast(qd[0]), b0, c00);
                if (rows > 1)
                {
                    c10 = TOps.Fma(TOps.Broadcast(qd[1]), b0, c10);
                    c20 = TOps.Fma(TOps.Broadcast(qd[2]), b0, c20);
                    c30 = TOps.Fma(TOps.Broadcast(qd[3]), b0, c30);
                }
            }
            TOps.Store(s + j, c00);
            if (rows > 1)
            {
                TOps.Store(s + n + j, c10);
                TOps.Store(s + 2 * n + j, c20);
                TOps.Store(s + 3 * n + j, c30);
            }
        }
        for (; j < n; j++)
            for (int r = 0; r < rows; r++)
            {
                float acc = 0f;
                for (int d = 0; d < dim; d++) acc += q[(long)d * n + r] * kt[(long)d * n + j];
                s[(long)r * n + j] = acc;
            }
    }

    /// <summary>row = exp(row - max) / sum, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Softmax<TOps, TV>(float* row, int n) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        int j = 0;
        float max = float.NegativeInfinity;
        if (n >= lanes)
        {
            TV m = TOps.Load(row);
            for (j = lanes; j + lanes <= n; j += lanes) m = TOps.Max(m, TOps.Load(row + j));
            max = TOps.MaxAcross(m);
        }
        for (; j < n; j++) max = MathF.Max(max, row[j]);
        TV vmax = TOps.Broadcast(max);
        TV acc = TOps.Zero;
        for (j = 0; j + lanes <= n; j += lanes)
        {
            TV e = TOps.Exp(TOps.Sub(TOps.Load(row + j), vmax));
            TOps.Store(row + j, e);
            acc = TOps.Add(acc, e);
        }
        float sum = TOps.Sum(acc);
        for (; j < n; j++)
        {
            float e = MathF.Exp(row[j] - max);
            row[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        TV vinv = TOps.Broadcast(inv);
        for (j = 0; j + lanes <= n; j += lanes) TOps.Store(row + j, TOps.Mul(TOps.Load(row + j), vinv));
        for (; j < n; j++) row[j] *= inv;
    }

    /// <summary>out[d, pixel(i)] = sum_j P[i, j] * vt[d, j]; out points at channel 0 of the head, token 0's pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Context<TOps, TV>(float* p, float* vt, float* output, int n, int dim, int pixels,
        int patchesX, int colStride, int rowStride)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        for (int i = 0; i < n; i++)
        {
            float* pi = p + (long)i * n;
            float* o = output + (i / patchesX) * rowStride + (i % patchesX) * colStride;
            int d = 0;
            for (; d + 4 <= dim; d += 4) Dots<TOps, TV>(4, pi, vt + (long)d * n, n, o + (long)d * pixels, pixels);
            for (; d < dim; d++) Dots<TOps, TV>(1, pi, vt + (long)d * n, n, o + (long)d * pixels, pixels);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dots<TOps, TV>(int count, float* x, float* v, int n, float* o, int pixels)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Count;
        TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
        int j = 0;
        for (; j + lanes <= n; j += lanes)
        {
            TV xv = TOps.Load(x + j);
            a0 = TOps.Fma(xv, TOps.Load(v + j), a0);
            if (count > 1)
            {
                a1 = TOps.Fma(xv, TOps.Load(v + n + j), a1);
                a2 = TOps.Fma(xv, TOps.Load(v + 2 * n + j), a2);
                a3 = TOps.Fma(xv, TOps.Load(v + 3 * n + j), a3);
            }
        }
        float s0 = TOps.Sum(a0), s1 = 0, s2 = 0, s3 = 0;
        if (count > 1) { s1 = TOps.Sum(a1); s2 = TOps.Sum(a2); s3 = TOps.Sum(a3); }
        for (; j < n; j++)
        {
            s0 += x[j] * v[j];
            if (count > 1) { s1 += x[j] * v[n + j]; s2 += x[j] * v[2 * n + j]; s3 += x[j] * v[3 * n + j]; }
        }
        o[0] = s0;
        if (count > 1) { o[pixels] = s1; o[2 * pixels] = s2; o[3 * pixels] = s3; }
    }
}
