namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Ours against ONNX Runtime in alternating single runs: `-- paired [threads] [seconds per model] [model ...]`.
/// On these shared machines a neighbour sometimes holds the second vCPU for minutes, and BenchmarkDotNet, which
/// measures one runtime's iterations and then the other's, then compares one runtime's quiet minute with the
/// other's disturbed one. Here each round runs both back to back (in alternating order), so both see the same
/// machine; the median of the per-round ratios is the figure, with its quartiles as the spread.
/// With 2 threads or more a round alternates short blocks of back-to-back runs instead of single runs: both
/// runtimes' workers spin for a while after a run (ONNX Runtime's for milliseconds), so right after the other
/// runtime's run one runtime's second thread finds its core taken, and after a pause its own workers are asleep.
/// A block first runs for 100 ms (at least 2 runs, not counted), then counts at least 4 runs and 40 ms; the round's
/// ratio is of the two blocks' medians. ONNX Runtime's workers keep spinning for more than 10 ms after its last run:
/// with 10 ms of settling, ours ran MobileViTV2 at 2 threads in 10.3-11.4 ms (its 1-thread time), with 100 ms in
/// 6.3-6.9 ms, as in BenchmarkDotNet. Our workers spin for 0.2 ms, so the other way round nothing waits. (Single
/// runs with a 20 ms pause measured both at about their 1-thread speed.)
/// </summary>
internal static class PairedComparison
{
    public static void Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0]) : 1;
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20;
        var models = args.Length > 2 ? args[2..] : ModelBenchmarks.Models.ToArray();
        bool blocks = threads > 1;
        Console.WriteLine($"{threads} thread(s), alternating {(blocks ? "blocks of runs (median of each)" : "single runs")} for {seconds:0} s per model after 2 s of warm-up each");
        Console.WriteLine("| model | rounds | ours median ms | ORT median ms | ours / ORT: median of rounds | quartiles |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|");
        foreach (var model in models)
        {
            var bench = new ModelBenchmarks { Model = model, Threads = threads };
            bench.Setup(); // also checks that both give the same answer
            try
            {
                var result = PairedRounds.Measure(bench.Compiled, bench.OnnxRuntime, blocks, seconds);
                Console.WriteLine($"| {model} | {result.Ratios.Count} | {result.OursMedian:F3} | {result.PeerMedian:F3} | **{result.Ratio:F2}** | " +
                    $"{result.LowerQuartile:F2}–{result.UpperQuartile:F2} |");
            }
            finally
            {
                bench.Cleanup();
            }
        }
    }
}
