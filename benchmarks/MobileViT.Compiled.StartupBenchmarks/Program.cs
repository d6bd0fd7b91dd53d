using System.Diagnostics;
using System.Globalization;
using MobileViT.Compiled.Benchmarks;

// The start-up benchmark (run.sh builds it as a NativeAOT consumer of the packed package):
//   run [rounds] [threads] [model ...]                          the parent: fresh probes, alternating, markdown tables
//   probe ours|ort <model> <threads> <parentStopwatchTimestamp>  one fresh process's first answer, one key=value line
long mainTimestamp = Stopwatch.GetTimestamp(); // first thing in Main: main_to_logits_ms counts from here
string mode = args.Length > 0 ? args[0] : "run";
if (mode == "probe" && args.Length == 5)
    Probe.Run(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture), mainTimestamp);
else if (mode == "run")
    StartupRounds.Run(args[1..]);
else
{
    Console.Error.WriteLine("usage: run [rounds] [threads] [model ...] | probe ours|ort <model> <threads> <parentStopwatchTimestamp>");
    Environment.Exit(2);
}
