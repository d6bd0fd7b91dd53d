using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using MobileViT.Compiled;
using MobileViT.Compiled.Generator;
using MobileViT.Compiled.Generator.Emit;
using MobileViT.Compiled.Generator.Model;
using MobileViT.Compiled.IO;

// mobilevit weight compiler: MobileViT.Compiled.WeightCompiler --roslyn <dir> <config.json> <model.manifest> <model.safetensors> <out> <precision> [...]
// Prepares each model's weights into <out>; a model the generator will refuse gets an empty <out> (its diagnostics
// come from the generator, once). Errors are printed in MSBuild's canonical format so the build shows them with an ID.
if (args.Length < 7 || args[0] != "--roslyn" || (args.Length - 2) % 5 != 0)
{
    Console.Error.WriteLine("usage: MobileViT.Compiled.WeightCompiler --roslyn <sdk Roslyn dir> (<config.json> <model.manifest> <model.safetensors> <out> <precision>)...");
    return 2;
}
ResolveRoslyn(args[1]);
int failures = 0;
for (int i = 2; i < args.Length; i += 5)
    failures += Compile(args[i], args[i + 1], args[i + 2], args[i + 3], args[i + 4]) ? 0 : 1;
return failures == 0 ? 0 : 1;

// precision: the item's Precision metadata ("" = fp32); an int8 item's config.json is the build's copy in obj/.
static bool Compile(string configPath, string manifestPath, string safetensorsPath, string outPath, string precision)
{
    var watch = Stopwatch.StartNew();
    string folder = Path.GetDirectoryName(safetensorsPath)!;
    try
    {
        var plan = BuildTimePlan.Plan(folder, configPath, File.Exists(configPath) ? File.ReadAllText(configPath) : null,
            manifestPath, File.ReadAllText(manifestPath), precision);
        if (plan is null)
        {
            // The generator reports why; an empty resource keeps the compiler from adding an unrelated error.
            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            File.WriteAllBytes(outPath, []);
            Console.WriteLine($"MobileViT: {folder}: not prepared (the generator reports the problem)");
            return true;
        }
        var (recipe, fingerprint, entries, sha256, tensors) = plan.Value;
        var weights = new CompiledWeights(Path.GetFileName(folder), recipe, fingerprint, entries, sha256,
            tensors.Select(t => new ExpectedTensor(t.Name, t.Shape)).ToArray());
        PreparedWeights.Prepare(safetensorsPath, outPath, weights, Convert.FromHexString(sha256));
        string variant = precision.Trim().Length == 0 ? "" : $" ({precision.Trim()})";
        Console.WriteLine($"MobileViT: prepared the weights of {Path.GetFileName(folder)}{variant} at build time: {new FileInfo(outPath).Length / 1e6:0.0} MB in {watch.ElapsedMilliseconds} ms -> {outPath}");
        return true;
    }
    catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException)
    {
        Console.WriteLine($"{safetensorsPath}: error MVC017: the weights could not be prepared at build time: {e.Message}");
        return false;
    }
}

// The generator assembly references Roslyn (its diagnostics); the SDK that runs this build carries it.
static void ResolveRoslyn(string roslynDirectory)
{
    AssemblyLoadContext.Default.Resolving += (context, name) =>
    {
        foreach (string candidate in new[] { Path.Combine(roslynDirectory, "bincore", name.Name + ".dll"), Path.Combine(roslynDirectory, name.Name + ".dll") })
            if (File.Exists(candidate)) return context.LoadFromAssemblyPath(candidate);
        return null;
    };
}
