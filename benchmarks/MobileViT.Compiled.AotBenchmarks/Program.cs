using System.Globalization;
using System.Runtime.InteropServices;
using MobileViT.Compiled.Benchmarks;

// The shipped-speed benchmark (run.sh builds it as a NativeAOT consumer of the packed package):
//   paired [threads] [seconds per model] [model ...]  ours / ONNX Runtime from alternating runs in this process
//   profile <model> [threads] [runs]                  per-layer profile of our model as published
string mode = args.Length > 0 ? args[0] : "paired";
Console.WriteLine($"{RuntimeInformation.ProcessArchitecture}, NativeAOT: {!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported}, " +
    $"vectors: 512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, 256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, " +
    $"128 {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}");
if (mode == "profile") { LayerProfiler.Profile(args[1..]); return; }
if (mode != "paired") { Console.Error.WriteLine("usage: paired [threads] [seconds] [model ...] | profile <model> [threads] [runs]"); Environment.Exit(2); }

int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 15;
string[] models = args.Length > 3 ? args[3..] :
    ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small", "mobilevitv2-0.5", "deeplabv3-mobilevit-xx-small"];
bool blocks = threads > 1;
Console.WriteLine($"{threads} thread(s), alternating {(blocks ? "blocks of runs" : "single runs")} for {seconds:0} s per model");
Console.WriteLine("| model | rounds | ours median ms | ours GFLOP/s | ORT median ms | ours / ORT: median of rounds | quartiles |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
foreach (var model in models)
{
    using var pair = new ModelPair(model, threads);
    var result = PairedRounds.Measure(pair.RunOurs, pair.RunPeer, blocks, seconds);
    double gflops = 2.0 * pair.Ours.LayerMultiplyAccumulates.Sum() / result.OursMedian / 1e6; // the model's multiply-adds as written
    Console.WriteLine($"| {model} | {result.Ratios.Count} | {result.OursMedian:F3} | {gflops:F1} | {result.PeerMedian:F3} | **{result.Ratio:F2}** | " +
        $"{result.LowerQuartile:F2}–{result.UpperQuartile:F2} |");
}
