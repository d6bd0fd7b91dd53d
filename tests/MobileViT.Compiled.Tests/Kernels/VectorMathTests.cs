using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.Tests.Kernels;

public class VectorMathTests
{
    [Fact]
    public void ExpNegatedIsAccurateAtEveryWidth()
    {
        // e^-x = 2^(-x log2e): the rounded product costs accuracy as |x| grows (SiLU has saturated there).
        for (float x = -20f; x <= 87f; x += 0.000731f)
        {
            double expected = Math.Exp(-x);
            double bound = 4e-7 + Math.Abs(x) * 1.45 * 1.2e-7 * Math.Log(2); // polynomial + t's rounding (product and log2e)
            foreach (var e in new[] { VectorMath.ExpNegated(Vector512.Create(x))[7], VectorMath.ExpNegated(Vector256.Create(x))[3], VectorMath.ExpNegated(Vector128.Create(x))[1] })
            {
                double rel = Math.Abs(e - expected) / expected;
                if (rel > bound) Assert.Fail($"exp(-{x}) = {e}, expected {expected} (rel {rel:E2} > {bound:E2})");
            }
        }
    }

    [Fact]
    public void Exp2IsAccurateOnTheSoftmaxRange()
    {
        // Softmax arguments are <= 0; at -126 and below 2^x is subnormal or 0 (or 2^-126 without AVX-512).
        for (float x = -125f; x <= 0f; x += 0.000377f)
        {
            double expected = Math.Pow(2, x);
            foreach (var e in new[] { VectorMath.Exp2(Vector512.Create(x))[5], VectorMath.Exp2(Vector256.Create(x))[2], VectorMath.Exp2(Vector128.Create(x))[3] })
            {
                double rel = Math.Abs(e - expected) / expected;
                if (rel > 3e-7) Assert.Fail($"2^{x} = {e}, expected {expected} (rel {rel:E2})");
            }
        }
        foreach (float x in new[] { -1e30f, -1000f, -200f, -150f, -127f })
        {
            float e = VectorMath.Exp2(Vector512.Create(x))[0];
            Assert.True(e >= 0f && e <= 1.2e-38f, $"2^{x} = {e}");
        }
        Assert.True(float.IsNaN(VectorMath.Exp2(Vector512.Create(float.NaN))[0]));
    }

    [Fact]
    public void ExpAndSiluSaturateWithoutNaN()
    {
        foreach (float x in new[] { -1e30f, -1000f, -88f, -87.5f, 88.5f, 100f, 1000f, 1e30f })
        {
            // e^-x may overflow to +inf (AVX-512) or stop at 2^127; SiLU divides by 1 + e^-x, so either gives -0.
            float e = VectorMath.ExpNegated(Vector512.Create(x))[0];
            Assert.True(!float.IsNaN(e) && e >= 0f, $"exp(-{x}) = {e}");
            float expected = Silu.Invoke(x);
            foreach (float s in new[] { Silu.Invoke(Vector512.Create(x))[0], Silu.Invoke(Vector256.Create(x))[1], Silu.Invoke(Vector128.Create(x))[2] })
                Assert.True(MathF.Abs(s - expected) <= 1e-6f * MathF.Max(1f, MathF.Abs(expected)), $"silu({x}) = {s}, expected {expected}");
        }
    }
}
