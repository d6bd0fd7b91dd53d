using System.Globalization;
using System.Runtime.InteropServices;
using MobileViT.Compiled.Benchmarks;

// The shipped-speed benchmark (run.sh builds it as a NativeAOT consumer of the packed package):
//   paired [threads] [seconds per model] [model ...]  ours / ONNX Runtime from alternating runs in this process
//   paired-int8 [threads] [seconds] [model ...]       int8 / ORT, fp32 / ORT and int8 / fp32 from the same rounds
//   profile <model> [threads] [runs]                  per-layer profile of our model as published (<model>-int8: int8)
//   alignment [threads] [seconds] [model ...]          Create (weights in place in the binary, at the linker's
//                                                      alignment) / Load of a mapped prepared file (cache-line aligned)
string mode = args.Length > 0 ? args[0] : "paired";
Console.WriteLine($"{RuntimeInformation.ProcessArchitecture}, NativeAOT: {!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported}, " +
    $"vectors: 512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, 256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}, " +
    $"128 {System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated}");
if (mode == "profile") { LayerProfiler.Profile(args[1..]); return; }
if (mode == "alignment") { CompareAlignment(args); return; }
if (mode == "paired-int8") { Int8Comparison.Run(args[1..]); return; }
if (mode != "paired") { Console.Error.WriteLine("usage: paired [threads] [seconds] [model ...] | paired-int8 [threads] [seconds] [model ...] | profile <model> [threads] [runs] | alignment [threads] [seconds] [model ...]"); Environment.Exit(2); }

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

static void CompareAlignment(string[] args)
{
    int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
    double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10;
    string[] models = args.Length > 3 ? args[3..] : ["mobilevit-xx-small", "mobilevit-x-small", "mobilevit-small"];
    Console.WriteLine("| model | embedded weights | mapped weights | rounds | embedded / mapped: median of rounds | quartiles |");
    Console.WriteLine("|---|---|---|---:|---:|---|");
    foreach (var model in models)
    {
        using var embedded = ModelCatalog.Create(model, threads);
        using var mapped = ModelCatalog.LoadMapped(model, threads);
        var input = ModelCatalog.Input(model);
        var a = new float[embedded.OutputLength];
        var b = new float[mapped.OutputLength];
        embedded.Run(input, a);
        mapped.Run(input, b);
        if (!a.AsSpan().SequenceEqual(b)) throw new InvalidOperationException($"{model}: embedded and mapped weights give different logits");
        var result = PairedRounds.Measure(() => embedded.Run(input, a), () => mapped.Run(input, b), threads > 1, seconds);
        Console.WriteLine($"| {model} | {embedded.WeightsResidence} | {mapped.WeightsResidence} | {result.Ratios.Count} | **{result.Ratio:F3}** | " +
            $"{result.LowerQuartile:F3}–{result.UpperQuartile:F3} |");
    }
}
