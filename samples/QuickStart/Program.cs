// Runs the compiled MobileViT-XXS on the reference implementation's preprocessed photo of a cat
// (tests/fixtures/inputs, made by Hugging Face's MobileViTImageProcessor) and prints the top-5 classes and
// the largest difference to the reference logits. The fixture weights are random but calibrated, so the
// classes are not meaningful; the agreement with the reference is the point.
using System.Diagnostics;
using MobileViT.Compiled.IO;
using QuickStart;

string fixtures = Path.Combine(FindRepoRoot(), "tests", "fixtures");
float[] pixels = ReadTensor(Path.Combine(fixtures, "inputs", "inputs-256.safetensors"), "input.photo_chelsea");
float[] reference = ReadTensor(Path.Combine(fixtures, "models", "mobilevit-xx-small", "reference.safetensors"), "logits.photo_chelsea");

using var model = MobileViTXXSmall.Create();
var logits = new float[MobileViTXXSmall.OutputLength];
for (int i = 0; i < 3; i++) model.Run(pixels, logits); // warm-up: the first calls JIT-compile the kernels
var times = new double[15];
for (int i = 0; i < times.Length; i++)
{
    long start = Stopwatch.GetTimestamp();
    model.Run(pixels, logits);
    times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}
Array.Sort(times);

Console.WriteLine($"mobilevit-xx-small on input.photo_chelsea (median {times[times.Length / 2]:F2} ms over {times.Length} runs, {model.Threads} threads):");
foreach (int i in Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(5))
    Console.WriteLine($"  {i,4} {MobileViTXXSmall.Labels[i],-28} logit {logits[i],9:F4}   reference {reference[i],9:F4}");
float maxDiff = logits.Zip(reference, (a, b) => MathF.Abs(a - b)).Max();
float maxRef = reference.Max(MathF.Abs);
Console.WriteLine($"largest difference to the reference: {maxDiff:E2} (relative to max |ref| {maxRef:F2}: {maxDiff / maxRef:E2})");

static float[] ReadTensor(string file, string name)
{
    using var stream = File.OpenRead(file);
    var entry = SafetensorsHeader.Read(stream, file).Entries[name];
    return WeightLoader.Load(stream, file, [new ExpectedTensor(name, entry.Shape)]).Get(name);
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) return dir.FullName;
    throw new DirectoryNotFoundException("Run from inside the MobileViT.Compiled repository.");
}
