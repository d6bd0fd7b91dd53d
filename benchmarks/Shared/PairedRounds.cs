using System.Diagnostics;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Ours against a peer in alternating rounds (shared by the JIT benchmarks' `paired` mode and the NativeAOT
/// benchmark): each round times both back to back, in alternating order, so both see the same machine; the figure
/// is the median of the per-round ratios, with quartiles as the spread. With 2 threads or more a round alternates
/// short blocks of back-to-back runs (see PairedComparison.cs for why: the runtimes' workers spin after a run).
/// </summary>
internal static class PairedRounds
{
    /// <summary>The outcome of one model's rounds: medians of each side's times (ms) and the sorted per-round ratios.</summary>
    public sealed record Result(double OursMedian, double PeerMedian, IReadOnlyList<double> Ratios)
    {
        public double Ratio => Ratios[Ratios.Count / 2];
        public double LowerQuartile => Ratios[Ratios.Count / 4];
        public double UpperQuartile => Ratios[3 * Ratios.Count / 4];
    }

    /// <summary>Warms both up for 2 s (tiered JIT settles), then runs rounds for <paramref name="seconds"/> (at least 10).</summary>
    public static Result Measure(Action ours, Action peer, bool blocks, double seconds)
    {
        for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
        {
            peer();
            ours();
        }
        var oursTimes = new List<double>();
        var peerTimes = new List<double>();
        var ratios = new List<double>();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < seconds || ratios.Count < 10;)
        {
            bool oursFirst = ratios.Count % 2 == 0;
            double a = Time(oursFirst ? ours : peer, blocks);
            double b = Time(oursFirst ? peer : ours, blocks);
            double o = oursFirst ? a : b, p = oursFirst ? b : a;
            oursTimes.Add(o);
            peerTimes.Add(p);
            ratios.Add(o / p);
        }
        ratios.Sort();
        return new Result(Median(oursTimes), Median(peerTimes), ratios);
    }

    /// <summary>
    /// Three or more sides in the same rounds (int8, fp32 and ONNX Runtime: `paired-int8`): after the same 2 s of warm-up,
    /// each round times every side once (or a block of each, as <see cref="Measure"/>), starting one side later every
    /// round, so each side runs first, second and third equally often. Returns every round's times (ms), one per side.
    /// </summary>
    public static double[][] MeasureRounds(IReadOnlyList<Action> sides, bool blocks, double seconds)
    {
        for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
            foreach (var side in sides) side();
        var rounds = new List<double[]>();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < seconds || rounds.Count < 10;)
        {
            var times = new double[sides.Count];
            for (int j = 0; j < sides.Count; j++)
            {
                int s = (rounds.Count + j) % sides.Count;
                times[s] = Time(sides[s], blocks);
            }
            rounds.Add(times);
        }
        return rounds.ToArray();
    }

    /// <summary>Side <paramref name="a"/> against side <paramref name="b"/> of <see cref="MeasureRounds"/>: per-round ratios a / b.</summary>
    public static Result Compare(double[][] rounds, int a, int b) =>
        new(Median(rounds.Select(r => r[a]).ToList()), Median(rounds.Select(r => r[b]).ToList()),
            rounds.Select(r => r[a] / r[b]).Order().ToList());

    /// <summary>One run's milliseconds, or with <paramref name="block"/> the median of a block.</summary>
    private static double Time(Action run, bool block)
    {
        if (!block) return Once(run);
        var settle = Stopwatch.StartNew();
        for (int i = 0; i < 2 || settle.ElapsedMilliseconds < 100; i++) run();
        var times = new List<double>();
        for (var clock = Stopwatch.StartNew(); times.Count < 4 || clock.ElapsedMilliseconds < 40;) times.Add(Once(run));
        return Median(times);
    }

    private static double Once(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    public static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }
}
