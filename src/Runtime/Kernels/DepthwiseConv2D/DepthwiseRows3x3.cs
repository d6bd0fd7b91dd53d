using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// MobileNetV2's depthwise 3x3 (padding 1, no dilation, stride 1 or 2) with AVX-512, reading the input rows in place:
/// each input vector is loaded once per output row, whole and aligned with the output, and the taps one column left
/// and right are built in registers with valignd from it and its neighbours (zero past the row's ends); stride 2
/// splits two input vectors into even and odd columns with vpermt2ps. The general kernel's ring of padded rows made
/// every tap an unaligned load, most of them across two cache lines: 25 cycles per 16 outputs at stride 1 and 54 at
/// stride 2 before the activation, the same at half the vector width, i.e. bound by the loads. Taps are summed in the
/// general kernel's order (two chains, then added), so the results are the same.
/// Applies to rows of whole half vectors: width a multiple of 8 (stride 1) or of 16 (stride 2); a last half vector
/// is loaded with zeros above it (the padding column right of the row) and stored as a Vector256. The general kernel
/// ran the 16x16 -> 8x8 stride-2 layers at 3 % of the FMA peak, 8 of 16 lanes busy and every row through scalar tails.
/// <para>
/// No Vector128 (NEON, SSE) twin: there the general kernel is already all vectors (ring rows copied with vector
/// loads, stride 2 split by uzp1/uzp2 on ARM64, 9 loads and 9 FMAs per 4 outputs, no scalar tails on 4n-wide rows), and
/// what this kernel saves is loads: 16-byte loads rarely cross a cache line (3 of 16 offsets against 15 of 16 for
/// 64-byte ones) and ARM64 cores issue 2-3 per cycle, so 9 loads take no longer than the 9 FMAs on 2 FMA pipes. Building
/// the neighbour columns instead (ext/palignr, 6 per 4 outputs) runs on the same vector pipes as the FMAs on
/// Cortex-A76/Neoverse-N1, 15 pipe operations instead of 9: slower there, not faster.
/// </para>
/// </summary>
[SkipLocalsInit]
internal static unsafe class DepthwiseRows3x3
{
    /// <summary>Whether the kernel exists on this path (AVX-512 only; elsewhere the general kernel runs). Also read by <see cref="KernelInfo"/>.</summary>
    public static bool Available(Isa isa) => isa == Isa.Vector512 && Avx512F.IsSupported;

    public static bool Applies(int kernelSize, int stride, int padding, int dilation, int width, Isa isa)
        => Available(isa) && kernelSize == 3 && padding == 1 && dilation == 1
           && (stride == 1 ? width % 8 == 0 : stride == 2 && width % 16 == 0);

    /// <summary>Channels [c0, c1): input [c, height, width], output [c, outHeight, width / stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Channels<TAct>(float* input, float* weight, float* bias, float* output, int c0, int c1,
        int height, int width, int stride) where TAct : struct, IActivation
    {
        int outHeight = (height - 1) / stride + 1, outWidth = width / stride;
        for (int c = c0; c < c1; c++)
        {
            float* src = input + (long)c * height * width;
            float* dst = output + (long)c * outHeight * outWidth;
            float* w = weight + c * 9;
            float b = bias == null ? 0f : bias[c];
            // The half-vector tail gets its own specialization: its tests inside the full-vector loop cost 20 %.
            // The four are never inlined here: tier-1 code inlined them all into the caller, ran out of inlining budget
            // and called Split once per vector (16x16 -> 8x8 at 384ch: 0.023 -> 0.13 ms).
            if (stride == 1)
            {
                if (width % 16 == 0) Stride1Whole(src, height, width, w, b, dst);
                else Stride1Half(src, height, width, w, b, dst);
            }
            else if (width % 32 == 0) Stride2Whole(src, height, width, w, b, dst);
            else Stride2Half(src, height, width, w, b, dst);
            Activate<TAct>(dst, outHeight * outWidth);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Stride1Whole(float* src, int height, int width, float* w, float bias, float* dst)
        => Stride1(src, height, width, w, bias, dst, halfTail: false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Stride1Half(float* src, int height, int width, float* w, float bias, float* dst)
        => Stride1(src, height, width, w, bias, dst, halfTail: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Stride2Whole(float* src, int height, int width, float* w, float bias, float* dst)
        => Stride2(src, height, width, w, bias, dst, halfTail: false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Stride2Half(float* src, int height, int width, float* w, float bias, float* dst)
        => Stride2(src, height, width, w, bias, dst, halfTail: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stride1(float* src, int height, int width, float* w, float bias, float* dst, bool halfTail)
    {
        var w0 = Vector512.Create(w[0]); var w1 = Vector512.Create(w[1]); var w2 = Vector512.Create(w[2]);
        var w3 = Vector512.Create(w[3]); var w4 = Vector512.Create(w[4]); var w5 = Vector512.Create(w[5]);
        var w6 = Vector512.Create(w[6]); var w7 = Vector512.Create(w[7]); var w8 = Vector512.Create(w[8]);
        var vb = Vector512.Create(bias);
        for (int oy = 0; oy < height; oy++, dst += width)
        {
            // Rows above and below the image are zero: their pointer is null and their vectors stay zero.
            float* r0 = oy > 0 ? src + (long)(oy - 1) * width : null;
            float* r1 = src + (long)oy * width;
            float* r2 = oy + 1 < height ? src + (long)(oy + 1) * width : null;
            Vector512<float> p0 = default, p1 = default, p2 = default;
            Vector512<float> x0 = Load(r0, 0, width, halfTail), x1 = Load(r1, 0, width, halfTail), x2 = Load(r2, 0, width, halfTail);
            for (int ox = 0; ox < width; ox += 16)
            {
                bool more = ox + 16 < width;
                var n0 = more ? Load(r0, ox + 16, width, halfTail) : default;
                var n1 = more ? Load(r1, ox + 16, width, halfTail) : default;
                var n2 = more ? Load(r2, ox + 16, width, halfTail) : default;
                var acc = Vector512.MultiplyAddEstimate(w0, Left(x0, p0), vb);
                var acc2 = w1 * x0;
                acc = Vector512.MultiplyAddEstimate(w2, Right(x0, n0), acc);
                acc2 = Vector512.MultiplyAddEstimate(w3, Left(x1, p1), acc2);
                acc = Vector512.MultiplyAddEstimate(w4, x1, acc);
                acc2 = Vector512.MultiplyAddEstimate(w5, Right(x1, n1), acc2);
                acc = Vector512.MultiplyAddEstimate(w6, Left(x2, p2), acc);
                acc2 = Vector512.MultiplyAddEstimate(w7, x2, acc2);
                acc = Vector512.MultiplyAddEstimate(w8, Right(x2, n2), acc);
                Store(acc + acc2, dst, ox, width, halfTail);
                p0 = x0; p1 = x1; p2 = x2;
                x0 = n0; x1 = n1; x2 = n2;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stride2(float* src, int height, int width, float* w, float bias, float* dst, bool halfTail)
    {
        var w0 = Vector512.Create(w[0]); var w1 = Vector512.Create(w[1]); var w2 = Vector512.Create(w[2]);
        var w3 = Vector512.Create(w[3]); var w4 = Vector512.Create(w[4]); var w5 = Vector512.Create(w[5]);
        var w6 = Vector512.Create(w[6]); var w7 = Vector512.Create(w[7]); var w8 = Vector512.Create(w[8]);
        var vb = Vector512.Create(bias);
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        int outHeight = (height - 1) / 2 + 1, outWidth = width / 2;
        for (int oy = 0; oy < outHeight; oy++, dst += outWidth)
        {
            // Output row oy reads input rows 2 oy - 1, 2 oy, 2 oy + 1; output column o reads 2 o - 1, 2 o, 2 o + 1.
            int iy = 2 * oy - 1;
            float* r0 = iy >= 0 ? src + (long)iy * width : null;
            float* r1 = src + (long)(iy + 1) * width;
            float* r2 = iy + 2 < height ? src + (long)(iy + 2) * width : null;
            Vector512<float> q0 = default, q1 = default, q2 = default; // the previous odd columns
            for (int ox = 0; ox < outWidth; ox += 16)
            {
                Split(r0, 2 * ox, width, halfTail, even, odd, out var e0, out var o0);
                Split(r1, 2 * ox, width, halfTail, even, odd, out var e1, out var o1);
                Split(r2, 2 * ox, width, halfTail, even, odd, out var e2, out var o2);
                var acc = Vector512.MultiplyAddEstimate(w0, Left(o0, q0), vb);
                var acc2 = w1 * e0;
                acc = Vector512.MultiplyAddEstimate(w2, o0, acc);
                acc2 = Vector512.MultiplyAddEstimate(w3, Left(o1, q1), acc2);
                acc = Vector512.MultiplyAddEstimate(w4, e1, acc);
                acc2 = Vector512.MultiplyAddEstimate(w5, o1, acc2);
                acc = Vector512.MultiplyAddEstimate(w6, Left(o2, q2), acc);
                acc2 = Vector512.MultiplyAddEstimate(w7, e2, acc2);
                acc = Vector512.MultiplyAddEstimate(w8, o2, acc);
                Store(acc + acc2, dst, ox, outWidth, halfTail);
                q0 = o0; q1 = o1; q2 = o2;
            }
        }
    }

    /// <summary>
    /// The activation over a finished output channel (16-64 KiB, still in cache), as its own loop: inside the tap loop,
    /// next to the 9 weights and 9 input vectors, its constants spilled (31 instead of 24 cycles per 16 outputs at
    /// stride 1), and per row it paid its setup for every 4 vectors at stride 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Activate<TAct>(float* plane, int length) where TAct : struct, IActivation
    {
        if (typeof(TAct) == typeof(Identity)) return;
        int x = 0;
        for (; x + 16 <= length; x += 16) TAct.Invoke(Vector512.Load(plane + x)).Store(plane + x);
        if (x < length) TAct.Invoke(Load(plane, x, length, true)).GetLower().Store(plane + x); // the last 8 (length % 16 == 8)
    }

    /// <summary>16 floats at row + x, or 8 and zeros above them where the row ends there (zero for a row outside the image).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* row, int x, int width, bool halfTail)
    {
        if (row == null) return default;
        return !halfTail || x + 16 <= width ? Vector512.Load(row + x) : Vector512.Create(Vector256.Load(row + x), Vector256<float>.Zero);
    }

    /// <summary>Stores the 16 outputs at dst + x, or the low 8 where the row ends there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> v, float* dst, int x, int width, bool halfTail)
    {
        if (!halfTail || x + 16 <= width) v.Store(dst + x);
        else v.GetLower().Store(dst + x);
    }

    /// <summary>
    /// The 32 floats at row + x split into even and odd columns (zero for a row outside the image); where the row ends
    /// after 16 of them, the upper halves are zero (the right padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(float* row, int x, int width, bool halfTail, Vector512<int> even, Vector512<int> odd, out Vector512<float> e, out Vector512<float> o)
    {
        if (row == null) { e = default; o = default; return; }
        var a = Vector512.Load(row + x);
        var b = !halfTail || x + 32 <= width ? Vector512.Load(row + x + 16) : default;
        e = Avx512F.PermuteVar16x32x2(a, even, b);
        o = Avx512F.PermuteVar16x32x2(a, odd, b);
    }

    /// <summary>[previous[15], x[0..14]]: the column left of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Left(Vector512<float> x, Vector512<float> previous)
        => Avx512F.AlignRight32(x.AsUInt32(), previous.AsUInt32(), 15).AsSingle();

    /// <summary>[x[1..15], next[0]]: the column right of each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Right(Vector512<float> x, Vector512<float> next)
        => Avx512F.AlignRight32(next.AsUInt32(), x.AsUInt32(), 1).AsSingle();
}
