using BenchmarkDotNet.Running;
using MobileViT.Compiled.Benchmarks;

// dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*ModelBenchmarks*'
// Any BenchmarkDotNet argument works (--filter, --job short, --list flat, ...).
// -- profile <model> [threads] [runs]: per-layer profile (ms, share, GFLOP/s, share of the measured peak).
// -- ort-profile <model> [threads] [runs]: the same for ONNX Runtime, per node (its own profiler).
// -- kernels [threads] [rounds]: kernels at real layer shapes.
// -- peak: the measured single-core FMA peak (and the int8 AVX-VNNI one).
// -- paired [threads] [seconds per model] [model ...]: ours / ONNX Runtime from alternating single runs (noise-robust).
// -- paired-int8 [threads] [seconds per model] [model ...]: int8 / ORT, fp32 / ORT and int8 / fp32 from the same rounds.
// -- int8-stages <model>: int8 against fp32 at every stage output (where a wrong int8 answer starts).
// --filter '*Int8Benchmarks*': BenchmarkDotNet, int8 and fp32 against ONNX Runtime (the baseline).
if (args.Length > 0 && args[0] == "profile") { LayerProfiler.Profile(args[1..]); return; }
if (args.Length > 0 && args[0] == "ort-profile") { OrtProfiler.Profile(args[1..]); return; }
if (args.Length > 0 && args[0] == "kernels") { KernelShapes.Run(args[1..]); return; }
if (args.Length > 0 && args[0] == "paired") { PairedComparison.Run(args[1..]); return; }
if (args.Length > 0 && args[0] == "paired-int8") { Int8Comparison.Run(args[1..]); return; }
if (args.Length > 0 && args[0] == "int8-stages") { Int8Comparison.Stages(args[1..]); return; }
if (args.Length > 0 && args[0] == "peak")
{
    Console.WriteLine($"FMA peak, one core: Vector512 {FmaPeak.Measure512():F1} GFLOP/s, Vector256 {FmaPeak.Measure256():F1} GFLOP/s; " +
        $"int8 AVX-VNNI (256-bit vpdpbusd) {FmaPeak.MeasureVnni256():F1} G multiply-adds/s");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(ModelBenchmarks).Assembly).Run(args);
