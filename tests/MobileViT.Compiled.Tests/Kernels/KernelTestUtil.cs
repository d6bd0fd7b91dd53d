using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.Tests.Kernels;

internal static class KernelTestUtil
{
    /// <summary>
    /// Every instruction-set path. A VectorN path on hardware without that width still runs (the BCL falls back to
    /// software for non-accelerated vectors), so every path is verified on every machine rather than skipped;
    /// <see cref="Accelerated"/> says which ones also ran on real hardware.
    /// </summary>
    public static TheoryData<string> AllIsas => new() { "Scalar", "Vector128", "Vector256", "Vector512" };

    public static Isa Parse(string name) => Enum.Parse<Isa>(name);

    public static bool Accelerated(Isa isa) => isa switch
    {
        Isa.Vector512 => System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        Isa.Vector256 => System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated,
        Isa.Vector128 => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
        _ => true,
    };

    public static float[] Random(Random rng, int length, float scale = 1f)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>|actual - expected| &lt;= tol * max(1, max|expected|), elementwise.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tol, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        float maxAbs = 1f;
        foreach (var v in expected) maxAbs = MathF.Max(maxAbs, MathF.Abs(v));
        float bound = tol * maxAbs;
        for (int i = 0; i < expected.Length; i++)
        {
            float d = MathF.Abs(actual[i] - expected[i]);
            RecordRelativeError(d / maxAbs);
            if (!(d <= bound))
                Assert.Fail($"{context}: element {i}: expected {expected[i]}, got {actual[i]} (|diff| {d} > {bound})");
        }
    }

    /// <summary>
    /// The largest |actual - expected| / max(1, max|expected|) that <see cref="AssertClose"/> and Fixtures.Compare
    /// measured since it was last set to null: the self-check (tests/MobileViT.Compiled.SelfCheck) prints it per check.
    /// </summary>
    public static float? LargestRelativeError { get; set; }

    public static void RecordRelativeError(float error)
    {
        if (LargestRelativeError is float seen && (float.IsNaN(seen) || error <= seen)) return; // a NaN stays
        LargestRelativeError = error;
    }

    /// <summary>Tolerance for a float reduction of length n (rounding grows ~ sqrt(n); 1e-5 floor).</summary>
    public static float ReductionTol(int n) => 1e-5f * MathF.Max(1f, MathF.Sqrt(n) / 4f);
}
