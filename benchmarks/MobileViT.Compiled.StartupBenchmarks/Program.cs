using System.Diagnostics;
using System.Globalization;
using MobileViT.Compiled.Benchmarks;

// The start-up benchmark (run.sh builds it as a NativeAOT consumer of the packed package):
//   run [rounds] [threads] [model ...]                          the parent: fresh probes, alternating, markdown tables
//   probe ours|ort <model> <threads> <parentStopwatchTimestamp> [warm]
//                                                               one fresh process's first answer, one key=value line;
//                                                               "warm" adds a second run (warm_run_ms): cold vs warm
//   cold <model> [threads]                                      per layer, ours: the first run's time against the second's
long mainTimestamp = Stopwatch.GetTimestamp(); // first thing in Main: main_to_logits_ms counts from here
string mode = args.Length > 0 ? args[0] : "run";
if (mode == "probe" && (args.Length == 5 || args is [.., "warm"] && args.Length == 6))
    Probe.Run(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture), mainTimestamp,
        warm: args.Length == 6);
else if (mode == "cold" && args.Length >= 2)
    ColdLayers.Print(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
else if (mode == "run")
    StartupRounds.Run(args[1..]);
else
{
    Console.Error.WriteLine("usage: run [rounds] [threads] [model ...] | probe ours|ort <model> <threads> <parentStopwatchTimestamp> [warm] | cold <model> [threads]");
    Environment.Exit(2);
}
