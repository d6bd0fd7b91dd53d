using System.Diagnostics;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Per-layer profile of a compiled model: the generated Run overload records a timestamp after every kernel call;
/// each layer's time is the median over many runs (after warm-up), its GFLOP/s is 2 x the layer's multiply-accumulates
/// over that time, and its share of peak is against the measured FMA peak of one core (x threads); an int8 layer's
/// (2 x integer multiply-adds) against the measured 256-bit AVX-VNNI peak instead, where the machine has one.
/// "at peak" is the time the model would take if every layer with multiply-adds ran at its instruction's peak and the
/// others took what they take now: the floor no kernel tuning can go below with this split of int8 and float layers.
/// <code>dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- profile mobilevit-small [threads] [runs]</code>
/// (mobilevit-small-int8: the int8 build, <see cref="ModelCatalog.Int8Suffix"/>)
/// </summary>
internal static class LayerProfiler
{
    /// <summary>The kind of a layer, from its description (for the per-kind summary).</summary>
    private static string Kind(string description) =>
        // a Precision="int8" model's layers in int8 (its GFLOP/s counts integer multiply-adds, against the AVX-VNNI peak)
        description.Contains("; int8", StringComparison.Ordinal) ? "1x1 conv / linear, int8 (GEMM)" :
        description.Contains("depthwise") ? "depthwise 3x3" :
        description.Contains("attention over") ? "attention (unfold/softmax/fold)" :
        // Winograd layers count the direct convolution's multiply-adds, so their GFLOP/s is an effective rate.
        description.Contains("Winograd") ? "conv 3x3 (Winograd, effective)" :
        description.Contains("conv 3x3") || description.Contains("conv kxk") ? "conv 3x3 (direct / im2col GEMM)" :
        // before LayerNorm: a GEMM may normalize its input ("input normalized by ... LayerNorm")
        description.Contains("conv 1x1") || description.Contains("linear") || description.Contains("projection") ? "1x1 conv / linear (GEMM)" :
        description.Contains("LayerNorm") ? "LayerNorm" :
        "other";

    public static void Profile(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "mobilevit-small";
        int threads = args.Length > 1 ? int.Parse(args[1]) : 1;
        int runs = args.Length > 2 ? int.Parse(args[2]) : 50;

        // The machine's FMA peak: the best of the 512- and 256-bit loops, measured before and after the runs (a neighbour
        // on a shared machine can depress one measurement; the peak cannot be exceeded, so the best one is the truth).
        double peak1 = FmaPeak.MeasureAccelerated();
        using var t = ModelCatalog.Create(model, threads);
        var input = ModelCatalog.Input(model);
        var output = new float[t.OutputLength];
        int layers = t.LayerDescriptions.Count;
        var stamps = new long[layers + 1];
        var times = new double[layers][];
        for (int i = 0; i < layers; i++) times[i] = new double[runs];
        var totals = new double[runs];
        // Warm-up by time, not by count: tiered JIT promotes methods only after ~30 calls and a pause in new
        // compilations, so 20 runs of a 0.7 ms model (Fashion-MNIST) measured some layers as unoptimized code.
        var warm = Stopwatch.StartNew();
        for (int w = 0; w < 20 || warm.Elapsed.TotalSeconds < 2; w++) t.Run(input, output, null, stamps);
        for (int r = 0; r < runs; r++)
        {
            t.Run(input, output, null, stamps);
            for (int i = 0; i < layers; i++) times[i][r] = (stamps[i + 1] - stamps[i]) * 1000.0 / Stopwatch.Frequency;
            totals[r] = (stamps[layers] - stamps[0]) * 1000.0 / Stopwatch.Frequency;
        }

        peak1 = Math.Max(peak1, FmaPeak.MeasureAccelerated());
        double peak = peak1 * threads;
        bool Int8(int i) => t.LayerDescriptions[i].Contains("; int8", StringComparison.Ordinal);
        bool anyInt8 = Enumerable.Range(0, layers).Any(Int8);
        // 2 x G multiply-adds/s, comparable with the FMA GFLOP/s; without AVX-VNNI the int8 layers count against the FMA peak.
        double int8Peak1 = anyInt8 ? 2 * FmaPeak.MeasureVnni256() : 0;
        double int8Peak = int8Peak1 > 0 ? int8Peak1 * threads : peak;
        double PeakOf(int i) => Int8(i) ? int8Peak : peak;
        var medians = times.Select(Median).ToArray();
        double total = Median(totals);
        double sum = medians.Sum();
        // A step kept only for a stage observer (PointwiseMerge) does not run here: its work is not counted.
        long Macs(int i) => t.LayerDescriptions[i].Contains("only for a stage observer", StringComparison.Ordinal) ? 0 : t.LayerMultiplyAccumulates[i];
        long macs = Enumerable.Range(0, layers).Sum(Macs);
        Console.WriteLine($"{model}, {threads} thread(s), median of {runs} runs after 2 s of warm-up runs");
        Console.WriteLine($"measured FMA peak: {peak1:F1} GFLOP/s per core (best of Vector512 and Vector256 loops, 12 chains){(threads > 1 ? $", x{threads} = {peak:F1}" : "")}");
        if (anyInt8) Console.WriteLine($"measured int8 peak: {int8Peak1:F1} GFLOP/s per core (2 x 256-bit AVX-VNNI vpdpbusd multiply-adds/s, 12 chains; {int8Peak1 / peak1:F2}x the FMA peak)");
        Console.WriteLine($"total: {total:F3} ms median end to end (sum of layer medians {sum:F3} ms), {2.0 * macs / 1e9:F3} GFLOP, {2.0 * macs / total / 1e6:F1} GFLOP/s = {2.0 * macs / total / 1e6 / peak:P1} of peak");
        // The floor: layers with multiply-adds at their peak (never slower than now), the others as measured.
        double atPeak = Enumerable.Range(0, layers).Sum(i => Macs(i) > 0 ? Math.Min(medians[i], 2.0 * Macs(i) / PeakOf(i) / 1e6) : medians[i]);
        Console.WriteLine($"at peak: {atPeak:F3} ms (every layer with multiply-adds at its instruction's peak, the rest as measured)");
        Console.WriteLine();
        Console.WriteLine("| step | layer | ms | share | GFLOP/s | of peak |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|");
        foreach (int i in Enumerable.Range(0, layers).OrderByDescending(i => medians[i]))
        {
            double gflops = 2.0 * Macs(i) / medians[i] / 1e6;
            Console.WriteLine($"| {i} | {Trim(t.LayerDescriptions[i])} | {medians[i]:F3} | {medians[i] / sum:P1} | {(Macs(i) > 0 ? gflops.ToString("F1") : "-")} | {(Macs(i) > 0 ? (gflops / PeakOf(i)).ToString("P0") : "-")} |");
        }
        Console.WriteLine();
        Console.WriteLine("| kind | layers | ms | share | GFLOP/s | of peak |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var g in Enumerable.Range(0, layers).GroupBy(i => Kind(t.LayerDescriptions[i])).OrderByDescending(g => g.Sum(i => medians[i])))
        {
            double ms = g.Sum(i => medians[i]);
            double gflops = 2.0 * g.Sum(Macs) / ms / 1e6;
            Console.WriteLine($"| {g.Key} | {g.Count()} | {ms:F3} | {ms / sum:P1} | {gflops:F1} | {gflops / PeakOf(g.First()):P0} |");
        }
    }

    private static string Trim(string s) => s.Length > 110 ? s[..110] + "…" : s;

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
