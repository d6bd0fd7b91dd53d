using System.Globalization;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// int8 against our fp32 and ONNX Runtime (fp32) in the same rounds: `-- paired-int8 [threads] [seconds per model]
/// [model ...]` (JIT benchmarks and the NativeAOT benchmark). Every round times the three once each (blocks of runs at
/// 2 threads or more, see <see cref="PairedComparison"/>), starting one side later every round
/// (<see cref="PairedRounds.MeasureRounds"/>); the figures are the medians of the per-round ratios, with quartiles.
/// Before timing, <see cref="ModelTrio"/> checks fp32 against ONNX Runtime and int8 against fp32 (top-1).
/// </summary>
internal static class Int8Comparison
{
    public static void Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        string[] models = args.Length > 2 ? args[2..] : ModelCatalog.Int8Models;
        bool blocks = threads > 1;
        foreach (var path in KernelInfo.Paths.Where(p => p.Kernel.Contains("int8", StringComparison.Ordinal)))
            Console.WriteLine($"{path.Kernel}: {path.Path} ({path.Detail})");
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {threads} thread(s), rounds of int8, fp32 and ORT " +
            $"({(blocks ? "blocks of runs" : "single runs")}, rotating order) for {seconds:0} s per model after 2 s of warm-up");
        Console.WriteLine("| model | rounds | int8 ms | fp32 ms | ORT ms | int8 / ORT | fp32 / ORT | int8 / fp32 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var checks = new List<string>();
        foreach (var model in models)
        {
            ModelTrio trio;
            try
            {
                trio = new ModelTrio(model, threads);
            }
            catch (InvalidOperationException e) // a wrong answer is not timed; the other models still are
            {
                Console.WriteLine($"| {model} | not timed | | | | | | |");
                checks.Add($"{model}: NOT TIMED: {e.Message}");
                continue;
            }
            using var _ = trio;
            checks.Add($"{model}: {trio.Agreement}");
            var rounds = PairedRounds.MeasureRounds([trio.RunInt8, trio.Pair.RunOurs, trio.Pair.RunPeer], blocks, seconds);
            var int8Ort = PairedRounds.Compare(rounds, 0, 2);
            var fp32Ort = PairedRounds.Compare(rounds, 1, 2);
            var int8Fp32 = PairedRounds.Compare(rounds, 0, 1);
            Console.WriteLine($"| {model} | {rounds.Length} | {int8Ort.OursMedian:F3} | {fp32Ort.OursMedian:F3} | {int8Ort.PeerMedian:F3} | " +
                $"{Cell(int8Ort)} | {Cell(fp32Ort)} | {Cell(int8Fp32)} |");
        }
        Console.WriteLine();
        Console.WriteLine("int8 against fp32 on the benchmark input:");
        foreach (var check in checks) Console.WriteLine("- " + check);
    }

    /// <summary>
    /// `int8-stages <model>`: int8 against fp32 at every stage output (StageObserver), to find where a wrong int8 answer
    /// starts: max |int8 - fp32| relative to the stage's largest |fp32| value, and the RMS difference relative to the RMS value.
    /// </summary>
    public static void Stages(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "mobilevit-small";
        using var fp32 = ModelCatalog.Create(model, 1);
        using var int8 = ModelCatalog.CreateInt8(model, 1);
        var input = ModelCatalog.Input(model);
        var reference = new List<float[]>();
        var shapes = new List<string>();
        var output = new float[fp32.OutputLength];
        fp32.Run(input, output, (stage, features, c, h, w) => { reference.Add(features.ToArray()); shapes.Add($"{c}x{h}x{w}"); });
        int index = 0;
        int8.Run(input, new float[int8.OutputLength], (stage, features, c, h, w) =>
        {
            var f = reference[index];
            double diff = 0, max = 0, squaredDiff = 0, squared = 0;
            for (int i = 0; i < f.Length; i++)
            {
                double d = features[i] - f[i];
                diff = Math.Max(diff, Math.Abs(d));
                max = Math.Max(max, Math.Abs(f[i]));
                squaredDiff += d * d;
                squared += (double)f[i] * f[i];
            }
            Console.WriteLine($"stage {stage} {shapes[index]}: max |diff| {diff / max:P2} of the largest |fp32| ({max:F2}); " +
                $"RMS diff {Math.Sqrt(squaredDiff / squared):P2} of the RMS value");
            index++;
        });
    }

    private static string Cell(PairedRounds.Result r) => $"**{r.Ratio:F2}** ({r.LowerQuartile:F2}–{r.UpperQuartile:F2})";
}
