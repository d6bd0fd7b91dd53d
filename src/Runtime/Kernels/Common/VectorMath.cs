using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// exp(x) for float vectors, inlined (the BCL's VectorN.Exp is a call and ~3x slower here): Cody-Waite range
/// reduction x = n ln2 + r, a degree-6 polynomial for e^r on [-ln2/2, ln2/2] (Cephes expf coefficients) and 2^n
/// built in the exponent bits. Max relative error ~1.2e-7 over the normal range. Inputs are clamped to
/// [-87.34, 88]: below, the result is the smallest normal float (~1.2e-38) instead of a denormal or 0; above,
/// e^88 (~1.65e38). Both are harmless for softmax (arguments &lt;= 0) and SiLU.
/// </summary>
internal static class VectorMath
{
    private const float Lo = -87.33654f, Hi = 88f, Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
        P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(Lo)), Vector512.Create(Hi));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.MultiplyAddEstimate(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P2));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P3));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P4));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(P5));
        p = Vector512.MultiplyAddEstimate(p, r * r, r + Vector512<float>.One);
        if (Avx512F.IsSupported) return Avx512F.Scale(p, n); // p * 2^n in one instruction
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(Lo)), Vector256.Create(Hi));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.MultiplyAddEstimate(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P2));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P3));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P4));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(P5));
        p = Vector256.MultiplyAddEstimate(p, r * r, r + Vector256<float>.One);
        if (Avx512F.VL.IsSupported) return Avx512F.VL.Scale(p, n);
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(Lo)), Vector128.Create(Hi));
        var n = Vector128.Round(x * Vector128.Create(Log2E));
        var r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Hi), x);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Lo), r);
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(P0), r, Vector128.Create(P1));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P2));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P3));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P4));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P5));
        p = Vector128.MultiplyAddEstimate(p, r * r, r + Vector128<float>.One);
        if (Avx512F.VL.IsSupported) return Avx512F.VL.Scale(p, n);
        var scale = (Vector128.ConvertToInt32(n) + Vector128.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    /// <summary>
    /// 1 / d for d &gt;= 1 (the sigmoid's denominator): the hardware estimate refined by one Newton step,
    /// r' = r + r (1 - d r), about 1 ulp; a division costs several times more on every x86 core here.
    /// Without an estimate instruction (or on ARM, whose estimate is only 8 bits) it divides.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ReciprocalOfAtLeastOne(Vector512<float> d)
    {
        if (!Avx512F.IsSupported) return Vector512<float>.One / d;
        var r = Avx512F.Reciprocal14(d);
        return Vector512.MultiplyAddEstimate(r, Vector512.MultiplyAddEstimate(-d, r, Vector512<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ReciprocalOfAtLeastOne(Vector256<float> d)
    {
        if (!Avx512F.VL.IsSupported) return Vector256<float>.One / d;
        var r = Avx512F.VL.Reciprocal14(d);
        return Vector256.MultiplyAddEstimate(r, Vector256.MultiplyAddEstimate(-d, r, Vector256<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ReciprocalOfAtLeastOne(Vector128<float> d)
    {
        if (!Avx512F.VL.IsSupported) return Vector128<float>.One / d;
        var r = Avx512F.VL.Reciprocal14(d);
        return Vector128.MultiplyAddEstimate(r, Vector128.MultiplyAddEstimate(-d, r, Vector128<float>.One), r);
    }
}
