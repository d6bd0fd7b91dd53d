using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        => Best(repeats, 12.0 * 2 * Vector512<float>.Count, n => Loop512(n, 1.0000001f));

    public static double Measure256(int repeats = 60)
        => Best(repeats, 12.0 * 2 * Vector256<float>.Count, n => Loop256(n, 1.0000001f));

    /// <summary>The best rate of several runs of a loop of a million iterations, in G operations per second.</summary>
    private static double Best<T>(int repeats, double operationsPerIteration, Func<long, T> loop)
    {
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long iterations = 1_000_000;
            long t0 = Stopwatch.GetTimestamp();
            var sink = loop(iterations);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            GC.KeepAlive(sink);
            best = Math.Max(best, operationsPerIteration * iterations / seconds / 1e9);
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

    /// <summary>
    /// The single-core int8 peak of 256-bit AVX-VNNI (vpdpbusd: 32 u8 x s8 multiply-adds per instruction), in G
    /// multiply-adds per second, 0 where AVX-VNNI is missing: the ceiling of the int8 GEMM's AvxVnni256 path.
    /// </summary>
    public static double MeasureVnni256(int repeats = 60)
        => AvxVnni.IsSupported ? Best(repeats, 12.0 * 32, LoopVnni256) : 0;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int LoopVnni256(long n)
    {
        var a = Vector256.Create((byte)3);
        var w = Vector256.Create((sbyte)-2);
        Vector256<int> c0 = default, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < n; i++)
        {
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, a, w); c1 = AvxVnni.MultiplyWideningAndAdd(c1, a, w);
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, a, w); c3 = AvxVnni.MultiplyWideningAndAdd(c3, a, w);
            c4 = AvxVnni.MultiplyWideningAndAdd(c4, a, w); c5 = AvxVnni.MultiplyWideningAndAdd(c5, a, w);
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, a, w); c7 = AvxVnni.MultiplyWideningAndAdd(c7, a, w);
            c8 = AvxVnni.MultiplyWideningAndAdd(c8, a, w); c9 = AvxVnni.MultiplyWideningAndAdd(c9, a, w);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, w); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, w);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
