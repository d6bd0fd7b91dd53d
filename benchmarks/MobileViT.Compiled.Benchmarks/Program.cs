using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- --filter '*ModelBenchmarks*'
// Any BenchmarkDotNet argument works (--filter, --job short, --list flat, ...).
BenchmarkSwitcher.FromAssembly(typeof(MobileViT.Compiled.Benchmarks.ModelBenchmarks).Assembly).Run(args);
