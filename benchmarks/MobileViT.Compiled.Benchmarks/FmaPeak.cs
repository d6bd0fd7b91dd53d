using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The single-core FMA peak, measured: a tight loop of independent fused multiply-adds (12 accumulator chains, enough
/// to cover FMA latency x throughput), best of several runs. `dotnet run -c Release --project benchmarks/... -- peak`
/// </summary>
internal static class FmaPeak
{
    /// <summary>
    /// The best of the accelerated widths only: in a NativeAOT binary compiled without AVX-512, Vector512 is emulated in
    /// software and its loop would take minutes to say nothing.
    /// </summary>
    public static double MeasureAccelerated()
        => Math.Max(Vector512.IsHardwareAccelerated ? Measure512() : 0, Vector256.IsHardwareAccelerated ? Measure256() : 0);

    public static double Measure512(int repeats = 60)
    {
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long iterations = 1_000_000;
            long t0 = Stopwatch.GetTimestamp();
            var sink = Loop512(iterations, 1.0000001f);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            GC.KeepAlive(sink);
            best = Math.Max(best, 12.0 * 2 * Vector512<float>.Count * iterations / seconds / 1e9);
        }
        return best;
    }

    public static double Measure256(int repeats = 60)
    {
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long iterations = 1_000_000;
            long t0 = Stopwatch.GetTimestamp();
            var sink = Loop256(iterations, 1.0000001f);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            GC.KeepAlive(sink);
            best = Math.Max(best, 12.0 * 2 * Vector256<float>.Count * iterations / seconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop512(long n, float x)
    {
        var m = Vector512.Create(x);
        var a = Vector512.Create(0.5f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop256(long n, float x)
    {
        var m = Vector256.Create(x);
        var a = Vector256.Create(0.5f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
