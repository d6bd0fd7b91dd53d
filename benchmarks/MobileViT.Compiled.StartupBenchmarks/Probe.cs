using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// One fresh process doing what a user's app does for its first answer: the input is ready, then ours
/// (XxxModel.Create + one Run) or ONNX Runtime (InferenceSession + one Run). Prints one key=value line.
/// </summary>
internal static class Probe
{
    public static void Run(string engine, string name, int threads, long parentTimestamp, long mainTimestamp, bool warm = false)
    {
        var model = StartupModel.Get(name);
        float[] input = model.Input();
        var output = new float[model.OutputLength];
        long inputAllocated = GC.GetTotalAllocatedBytes(true);
        long start = Stopwatch.GetTimestamp(), created, done, warmDone = 0;
        if (engine == "ours")
        {
            using var ours = model.Create(threads);
            created = Stopwatch.GetTimestamp();
            ours.Run(input, output);
            done = Stopwatch.GetTimestamp();
            if (warm)
            {
                ours.Run(input, output);
                warmDone = Stopwatch.GetTimestamp();
            }
        }
        else if (engine == "ort")
        {
            // Session construction (plus two OrtValues over the arrays, microseconds), the options every comparison uses.
            using var peer = new OnnxRuntimeModel(model.OnnxPath, input, output, model.InputShape, model.OutputShape, threads);
            created = Stopwatch.GetTimestamp();
            peer.Run();
            done = Stopwatch.GetTimestamp();
            if (warm)
            {
                peer.Run();
                warmDone = Stopwatch.GetTimestamp();
            }
        }
        else throw new ArgumentException($"engine is ours or ort, not {engine}");
        long allocated = GC.GetTotalAllocatedBytes(true);

        var line = new StringBuilder();
        void Add(string key, object value) => line.Append(key).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append(' ');
        Add("engine", engine);
        Add("model", name);
        Add("threads", threads);
        Add("first_logits_ms", Ms(parentTimestamp, done));
        Add("main_to_logits_ms", Ms(mainTimestamp, done));
        Add("create_ms", Ms(start, created));
        Add("run_ms", Ms(created, done));
        if (warm) Add("warm_run_ms", Ms(done, warmDone));
        Add("peak_rss_kb", PeakRssKb());
        Add("managed_allocated_bytes", allocated);
        Add("input_allocated_bytes", inputAllocated);
        Add("argmax", ArgMax(output, 0, output.Length, 1));
        Add("sum", output.Sum(v => (double)v).ToString("R", CultureInfo.InvariantCulture));
        Add("sum_abs", output.Sum(v => Math.Abs((double)v)).ToString("R", CultureInfo.InvariantCulture));
        if (model.Segmentation) Add("pixels", PixelClasses(output, (int)model.OutputShape[1]));
        Console.WriteLine(line.ToString().TrimEnd());
    }

    private static double Ms(long from, long to) => Math.Round((to - from) * 1000.0 / Stopwatch.Frequency, 3);

    private static long PeakRssKb()
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(l["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return -1;
    }

    private static int ArgMax(float[] values, int offset, int count, int stride)
    {
        int best = 0;
        for (int i = 1; i < count; i++)
            if (values[offset + i * stride] > values[offset + best * stride]) best = i;
        return best;
    }

    /// <summary>Each pixel's class (argmax over channels of the CHW logits) as one base-36 character, so the parent can
    /// count the pixels where ours and ONNX Runtime agree.</summary>
    private static string PixelClasses(float[] logits, int channels)
    {
        if (channels > 36) throw new NotSupportedException("more than 36 classes");
        int pixels = logits.Length / channels;
        var chars = new char[pixels];
        for (int p = 0; p < pixels; p++)
            chars[p] = "0123456789abcdefghijklmnopqrstuvwxyz"[ArgMax(logits, p, channels, pixels)];
        return new string(chars);
    }
}
