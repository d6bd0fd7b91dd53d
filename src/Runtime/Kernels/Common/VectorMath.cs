using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// exp for float vectors, inlined (the BCL's VectorN.Exp is a call and ~3x slower here): Cody-Waite range reduction
/// x = n ln2 + r, a degree-5 minimax polynomial for e^r on [-ln2/2, ln2/2] (fitted for relative error, 1.6e-7 in
/// float arithmetic; 3 operations fewer than Cephes' degree 7, whose extra accuracy is below float rounding) and 2^n
/// by vscalefps or in the exponent bits. Inputs are clamped to [-87.34, 88]: below, the result is the smallest normal
/// float (~1.2e-38) instead of a denormal or 0; above, e^88 (~1.65e38). Both are harmless for softmax (arguments
/// &lt;= 0) and SiLU. SiLU is most of the non-GEMM time (about 18 cycles per 16 floats), so every operation counts.
/// </summary>
internal static class VectorMath
{
    private const float Lo = -87.33654f, Hi = 88f, Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float C2 = 0.4999923f, C3 = 0.16667114f, C4 = 0.041890115f, C5 = 0.008312525f;
    // The same polynomial in f = r / ln2, for 2^f on [-1/2, 1/2]: a_k = C_k ln2^k (same relative error).
    private const double Ln2 = 0.69314718055994531;
    private const float A1 = (float)Ln2, A2 = (float)(0.4999923 * Ln2 * Ln2), A3 = (float)(0.16667114 * Ln2 * Ln2 * Ln2);
    private const float A4 = (float)(0.041890115 * Ln2 * Ln2 * Ln2 * Ln2), A5 = (float)(0.008312525 * Ln2 * Ln2 * Ln2 * Ln2 * Ln2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(Lo)), Vector512.Create(Hi));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.MultiplyAddEstimate(Vector512.Create(C5), r, Vector512.Create(C4));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C3));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C2));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512<float>.One);
        p = Vector512.MultiplyAddEstimate(p, r, Vector512<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// e^-x without negating x: n = round(-x log2e), t = x + n ln2 = -r, and the polynomial in t has the odd
    /// coefficients negated (e^r = 1 - t + c2 t^2 - c3 t^3 + ...). Same clamping as <see cref="Exp(Vector512{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpNegated(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-Hi)), Vector512.Create(-Lo));
        var n = Vector512.Round(x * Vector512.Create(-Log2E));
        var t = Vector512.MultiplyAddEstimate(n, Vector512.Create(Ln2Hi), x);
        t = Vector512.MultiplyAddEstimate(n, Vector512.Create(Ln2Lo), t);
        var p = Vector512.MultiplyAddEstimate(Vector512.Create(-C5), t, Vector512.Create(C4));
        p = Vector512.MultiplyAddEstimate(p, t, Vector512.Create(-C3));
        p = Vector512.MultiplyAddEstimate(p, t, Vector512.Create(C2));
        p = Vector512.MultiplyAddEstimate(p, t, Vector512.Create(-1f));
        p = Vector512.MultiplyAddEstimate(p, t, Vector512<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// 2^x for x &lt;= 0 (softmax over base-2 scores): n = round(x), f = x - n exactly, the polynomial for 2^f, then
    /// scaled by 2^n. Four vector operations fewer than e^x, which needs the ln2 products and both clamps. With
    /// AVX-512, vscalefps takes any n (below -149 the result is 0, as in IEEE arithmetic); without it x is clamped
    /// at -126 (result 2^-126 instead of smaller), since the exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) x = Vector512.Max(x, Vector512.Create(-126f));
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
        if (Avx512F.IsSupported) return Avx512F.Scale(p, n); // one instruction
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// 1 / d for d &gt;= 1 (the sigmoid's denominator): the 14-bit hardware estimate refined by one Newton step,
    /// r' = r + r (1 - d r), about 1 ulp; a division costs several times more. Without AVX-512 it divides.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ReciprocalOfAtLeastOne(Vector512<float> d)
    {
        if (!Avx512F.IsSupported) return Vector512<float>.One / d;
        var r = Avx512F.Reciprocal14(d);
        return Vector512.MultiplyAddEstimate(r, Avx512F.FusedMultiplyAddNegated(d, r, Vector512<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(Lo)), Vector256.Create(Hi));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(C5), r, Vector256.Create(C4));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C3));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C2));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256<float>.One);
        p = Vector256.MultiplyAddEstimate(p, r, Vector256<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// e^-x without negating x: n = round(-x log2e), t = x + n ln2 = -r, and the polynomial in t has the odd
    /// coefficients negated (e^r = 1 - t + c2 t^2 - c3 t^3 + ...). Same clamping as <see cref="Exp(Vector256{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpNegated(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-Hi)), Vector256.Create(-Lo));
        var n = Vector256.Round(x * Vector256.Create(-Log2E));
        var t = Vector256.MultiplyAddEstimate(n, Vector256.Create(Ln2Hi), x);
        t = Vector256.MultiplyAddEstimate(n, Vector256.Create(Ln2Lo), t);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(-C5), t, Vector256.Create(C4));
        p = Vector256.MultiplyAddEstimate(p, t, Vector256.Create(-C3));
        p = Vector256.MultiplyAddEstimate(p, t, Vector256.Create(C2));
        p = Vector256.MultiplyAddEstimate(p, t, Vector256.Create(-1f));
        p = Vector256.MultiplyAddEstimate(p, t, Vector256<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// 2^x for x &lt;= 0 (softmax over base-2 scores): n = round(x), f = x - n exactly, the polynomial for 2^f, then
    /// scaled by 2^n. Four vector operations fewer than e^x, which needs the ln2 products and both clamps. With
    /// AVX-512, vscalefps takes any n (below -149 the result is 0, as in IEEE arithmetic); without it x is clamped
    /// at -126 (result 2^-126 instead of smaller), since the exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        if (!Avx512F.VL.IsSupported) x = Vector256.Max(x, Vector256.Create(-126f));
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
        if (Avx512F.VL.IsSupported) return Avx512F.VL.Scale(p, n); // one instruction
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// 1 / d for d &gt;= 1 (the sigmoid's denominator): the 14-bit hardware estimate refined by one Newton step,
    /// r' = r + r (1 - d r), about 1 ulp; a division costs several times more. Without AVX-512 it divides.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ReciprocalOfAtLeastOne(Vector256<float> d)
    {
        if (!Avx512F.VL.IsSupported) return Vector256<float>.One / d;
        var r = Avx512F.VL.Reciprocal14(d);
        return Vector256.MultiplyAddEstimate(r, Fma.MultiplyAddNegated(d, r, Vector256<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(Lo)), Vector128.Create(Hi));
        var n = Vector128.Round(x * Vector128.Create(Log2E));
        var r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Hi), x);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Lo), r);
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(C5), r, Vector128.Create(C4));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C3));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C2));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128<float>.One);
        p = Vector128.MultiplyAddEstimate(p, r, Vector128<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// e^-x without negating x: n = round(-x log2e), t = x + n ln2 = -r, and the polynomial in t has the odd
    /// coefficients negated (e^r = 1 - t + c2 t^2 - c3 t^3 + ...). Same clamping as <see cref="Exp(Vector128{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpNegated(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(-Hi)), Vector128.Create(-Lo));
        var n = Vector128.Round(x * Vector128.Create(-Log2E));
        var t = Vector128.MultiplyAddEstimate(n, Vector128.Create(Ln2Hi), x);
        t = Vector128.MultiplyAddEstimate(n, Vector128.Create(Ln2Lo), t);
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(-C5), t, Vector128.Create(C4));
        p = Vector128.MultiplyAddEstimate(p, t, Vector128.Create(-C3));
        p = Vector128.MultiplyAddEstimate(p, t, Vector128.Create(C2));
        p = Vector128.MultiplyAddEstimate(p, t, Vector128.Create(-1f));
        p = Vector128.MultiplyAddEstimate(p, t, Vector128<float>.One);
        return Scale(p, n);
    }

    /// <summary>
    /// 2^x for x &lt;= 0 (softmax over base-2 scores): n = round(x), f = x - n exactly, the polynomial for 2^f, then
    /// scaled by 2^n. Four vector operations fewer than e^x, which needs the ln2 products and both clamps. With
    /// AVX-512, vscalefps takes any n (below -149 the result is 0, as in IEEE arithmetic); without it x is clamped
    /// at -126 (result 2^-126 instead of smaller), since the exponent is built in the bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2(Vector128<float> x)
    {
        if (!Avx512F.VL.IsSupported) x = Vector128.Max(x, Vector128.Create(-126f));
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
        if (Avx512F.VL.IsSupported) return Avx512F.VL.Scale(p, n); // one instruction
        var scale = (Vector128.ConvertToInt32(n) + Vector128.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// 1 / d for d &gt;= 1 (the sigmoid's denominator): the 14-bit hardware estimate refined by one Newton step,
    /// r' = r + r (1 - d r), about 1 ulp; a division costs several times more. Without AVX-512 it divides.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ReciprocalOfAtLeastOne(Vector128<float> d)
    {
        if (!Avx512F.VL.IsSupported) return Vector128<float>.One / d;
        var r = Avx512F.VL.Reciprocal14(d);
        return Vector128.MultiplyAddEstimate(r, Fma.MultiplyAddNegated(d, r, Vector128<float>.One), r);
    }
}
