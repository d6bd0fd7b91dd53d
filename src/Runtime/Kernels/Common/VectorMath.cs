using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// 2^x and e^-x for float vectors, inlined (the BCL's VectorN.Exp is a call and ~3x slower here): x = n + f with
/// n = round(x), a degree-5 minimax polynomial for 2^f on [-1/2, 1/2] (fitted for relative error, 1.6e-7 in float
/// arithmetic; 3 operations fewer than Cephes' degree 7, whose extra accuracy is below float rounding) and 2^n by
/// vscalefps or in the exponent bits. The softmax runs on base-2 scores, so it needs no e^x; SiLU, most of the
/// non-GEMM time, takes e^-x = 2^(-x log2e), so every operation counts.
/// </summary>
internal static class VectorMath
{
    /// <summary>vscalefps on 512-bit vectors: 2^n in one instruction and any n (also read by <see cref="KernelInfo"/>).</summary>
    internal static bool HasScale512 => Avx512F.IsSupported;
    /// <summary>vscalefps on 256- and 128-bit vectors (AVX-512VL).</summary>
    internal static bool HasScaleVL => Avx512F.VL.IsSupported;

    private const float Log2E = 1.44269504088896341f;
    // A minimax polynomial for e^r on [-ln2/2, ln2/2] (1, 1, 0.4999923, 0.16667114, 0.041890115, 0.008312525),
    // rewritten in f = r / ln2 for 2^f on [-1/2, 1/2]: a_k = c_k ln2^k (the same relative error).
    private const double Ln2 = 0.69314718055994531;
    private const float A1 = (float)Ln2, A2 = (float)(0.4999923 * Ln2 * Ln2), A3 = (float)(0.16667114 * Ln2 * Ln2 * Ln2);
    private const float A4 = (float)(0.041890115 * Ln2 * Ln2 * Ln2 * Ln2), A5 = (float)(0.008312525 * Ln2 * Ln2 * Ln2 * Ln2 * Ln2);

    /// <summary>
    /// e^-x for the sigmoid, as 2^t with t = -x log2e: +inf past x = -88 with AVX-512 (vscalefps), so that
    /// x / (1 + e^-x) is -0 there; capped at 2^127 without it. t is rounded once, so the relative error grows with |x|
    /// (about 1e-6 at |x| = 20), where the sigmoid has saturated and SiLU's result does not feel it; two FMA-pipe
    /// operations fewer than Cody-Waite's e^x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNegated(Vector512<float> x)
    {
        var t = x * Vector512.Create(-Log2E);
        if (!HasScale512) t = Vector512.Min(t, Vector512.Create(127f)); // the exponent is built in the bits
        return Exp2(t);
    }

    /// <summary>
    /// 2^x for x &lt;= 127 (softmax over base-2 scores, x &lt;= 0; the sigmoid's e^-x): n = round(x), f = x - n
    /// exactly, the polynomial for 2^f, then scaled by 2^n. With AVX-512, vscalefps takes any n (below -149 the
    /// result is 0, as in IEEE arithmetic); without it x is clamped at -126 (2^-126 instead of smaller), since the
    /// exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        if (!HasScale512) x = Vector512.Max(x, Vector512.Create(-126f));
        var n = Vector512.Round(x);
        var f = x - n;
        var p = Vector512.MultiplyAddEstimate(Vector512.Create(A5), f, Vector512.Create(A4));
        p = Vector512.MultiplyAddEstimate(p, f, Vector512.Create(A3));
        p = Vector512.MultiplyAddEstimate(p, f, Vector512.Create(A2));
        p = Vector512.MultiplyAddEstimate(p, f, Vector512.Create(A1));
        p = Vector512.MultiplyAddEstimate(p, f, Vector512<float>.One);
        return Scale(p, n);
    }

    /// <summary>p * 2^n for integral n in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scale(Vector512<float> p, Vector512<float> n)
    {
        if (HasScale512) return Avx512F.Scale(p, n); // one instruction
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// e^-x for the sigmoid, as 2^t with t = -x log2e: +inf past x = -88 with AVX-512 (vscalefps), so that
    /// x / (1 + e^-x) is -0 there; capped at 2^127 without it. t is rounded once, so the relative error grows with |x|
    /// (about 1e-6 at |x| = 20), where the sigmoid has saturated and SiLU's result does not feel it; two FMA-pipe
    /// operations fewer than Cody-Waite's e^x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNegated(Vector256<float> x)
    {
        var t = x * Vector256.Create(-Log2E);
        if (!HasScaleVL) t = Vector256.Min(t, Vector256.Create(127f)); // the exponent is built in the bits
        return Exp2(t);
    }

    /// <summary>
    /// 2^x for x &lt;= 127 (softmax over base-2 scores, x &lt;= 0; the sigmoid's e^-x): n = round(x), f = x - n
    /// exactly, the polynomial for 2^f, then scaled by 2^n. With AVX-512, vscalefps takes any n (below -149 the
    /// result is 0, as in IEEE arithmetic); without it x is clamped at -126 (2^-126 instead of smaller), since the
    /// exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        if (!HasScaleVL) x = Vector256.Max(x, Vector256.Create(-126f));
        var n = Vector256.Round(x);
        var f = x - n;
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(A5), f, Vector256.Create(A4));
        p = Vector256.MultiplyAddEstimate(p, f, Vector256.Create(A3));
        p = Vector256.MultiplyAddEstimate(p, f, Vector256.Create(A2));
        p = Vector256.MultiplyAddEstimate(p, f, Vector256.Create(A1));
        p = Vector256.MultiplyAddEstimate(p, f, Vector256<float>.One);
        return Scale(p, n);
    }

    /// <summary>p * 2^n for integral n in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Scale(Vector256<float> p, Vector256<float> n)
    {
        if (HasScaleVL) return Avx512F.VL.Scale(p, n); // one instruction
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// e^-x for the sigmoid, as 2^t with t = -x log2e: +inf past x = -88 with AVX-512 (vscalefps), so that
    /// x / (1 + e^-x) is -0 there; capped at 2^127 without it. t is rounded once, so the relative error grows with |x|
    /// (about 1e-6 at |x| = 20), where the sigmoid has saturated and SiLU's result does not feel it; two FMA-pipe
    /// operations fewer than Cody-Waite's e^x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpNegated(Vector128<float> x)
    {
        var t = x * Vector128.Create(-Log2E);
        if (!HasScaleVL) t = Vector128.Min(t, Vector128.Create(127f)); // the exponent is built in the bits
        return Exp2(t);
    }

    /// <summary>
    /// 2^x for x &lt;= 127 (softmax over base-2 scores, x &lt;= 0; the sigmoid's e^-x): n = round(x), f = x - n
    /// exactly, the polynomial for 2^f, then scaled by 2^n. With AVX-512, vscalefps takes any n (below -149 the
    /// result is 0, as in IEEE arithmetic); without it x is clamped at -126 (2^-126 instead of smaller), since the
    /// exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2(Vector128<float> x)
    {
        if (!HasScaleVL) x = Vector128.Max(x, Vector128.Create(-126f));
        var n = Vector128.Round(x);
        var f = x - n;
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(A5), f, Vector128.Create(A4));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(A3));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(A2));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(A1));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128<float>.One);
        return Scale(p, n);
    }

    /// <summary>p * 2^n for integral n in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Scale(Vector128<float> p, Vector128<float> n)
    {
        if (HasScaleVL) return Avx512F.VL.Scale(p, n); // one instruction
        var scale = (Vector128.ConvertToInt32(n) + Vector128.Create(127)) << 23;
        return p * scale.AsSingle();
    }

}
