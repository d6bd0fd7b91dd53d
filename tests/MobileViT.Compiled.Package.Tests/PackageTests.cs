using System.Globalization;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MobileViT.Compiled.Package.Tests;

/// <summary>
/// The package as a user gets it: its layout, what its MSBuild logic hands the compiler in a project outside the
/// repository, and the compiled model's logits against the reference implementation.
/// Every failure message ends with the log of all commands that ran (pack, restore, builds, run).
/// </summary>
[Trait("Category", "Package")]
public sealed class PackageTests(PackedConsumerFixture fixture, ITestOutputHelper output) : IClassFixture<PackedConsumerFixture>
{
    private string Context => $"\n\nTemporary folder: {fixture.Root}\n===== log =====\n{fixture.Log}";

    private void Check(bool condition, string message)
    {
        if (!condition)
        {
            output.WriteLine(fixture.Log.ToString());
            Assert.Fail(message + Context);
        }
    }

    [Fact]
    public void Package_HasTheRuntimeTheGeneratorAndTheBuildLogic()
    {
        Check(fixture.Pack is { Succeeded: true }, "dotnet pack failed");
        Check(fixture.PackagePath is not null, $"no MobileViT.Compiled.*.nupkg in {fixture.PackagesDirectory}");

        using var zip = ZipFile.OpenRead(fixture.PackagePath!);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        output.WriteLine(string.Join("\n", entries.Order()));
        string[] required =
        [
            "lib/net10.0/MobileViT.Compiled.dll",
            "analyzers/dotnet/cs/MobileViT.Compiled.Generator.dll",
            "build/MobileViT.Compiled.props",
            "build/MobileViT.Compiled.targets",
            "buildTransitive/MobileViT.Compiled.props",
            "buildTransitive/MobileViT.Compiled.targets",
            .. Enumerable.Range(1, 16).Select(i => $"docs/diagnostics/MVC{i:D3}.md"),
        ];
        foreach (string path in required)
            Check(entries.Contains(path), $"the package lacks {path}; it has:\n  {string.Join("\n  ", entries.Order())}");
        Check(!entries.Any(e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Generator", StringComparison.Ordinal)),
            "the generator must not be a lib/ assembly (it would become a runtime reference)");

        using var nuspec = new StreamReader(zip.GetEntry("MobileViT.Compiled.nuspec")!.Open());
        string nuspecText = nuspec.ReadToEnd();
        Check(!nuspecText.Contains("<dependency ", StringComparison.Ordinal),
            $"the package must have no dependencies (the generator ships inside it):\n{nuspecText}");
    }

    [Fact]
    public void Consumer_ManifestDescribesTheWeights()
    {
        Check(fixture.Prepare is not null, "the consumer was not created");
        string key = Path.GetFullPath(fixture.ModelDirectory);
        string folder = Path.Combine(fixture.IntermediateDirectory, "mobilevit", $"{PackedConsumerFixture.ModelName}-{ShortHash(key)}");
        string manifestPath = Path.Combine(folder, "model.manifest");
        Check(File.Exists(manifestPath), $"no manifest at {manifestPath}; obj/ has:\n  {ListFiles(Path.Combine(fixture.ConsumerDirectory, "obj"))}");

        string weightsPath = Path.Combine(key, "model.safetensors");
        byte[] weights = File.ReadAllBytes(weightsPath);
        ulong headerLength = BitConverter.ToUInt64(weights, 0);
        string expected =
            "mobilevit-weights-manifest 1\n" +
            $"file: {weightsPath}\n" +
            $"length: {weights.Length}\n" +
            $"sha256: {Convert.ToHexStringLower(SHA256.HashData(weights))}\n" +
            $"header_length: {headerLength}\n" +
            "header:\n" +
            Encoding.UTF8.GetString(weights, 8, (int)headerLength);
        byte[] manifest = File.ReadAllBytes(manifestPath);
        Check(manifest.AsSpan().SequenceEqual(new UTF8Encoding(false).GetBytes(expected)),
            $"the manifest differs from the expected text; its first 400 characters:\n{Encoding.UTF8.GetString(manifest)[..Math.Min(400, manifest.Length)]}");
    }

    [Fact]
    public void Consumer_EditorConfigCarriesTheMetadataToTheGenerator()
    {
        Check(fixture.Prepare is not null, "the consumer was not created");
        string key = Path.GetFullPath(fixture.ModelDirectory);
        string hash = ShortHash(key);
        string[] editorConfigs = Directory.Exists(fixture.IntermediateDirectory)
            ? Directory.GetFiles(fixture.IntermediateDirectory, "*.GeneratedMSBuildEditorConfig.editorconfig")
            : [];
        Check(editorConfigs.Length == 1, $"expected one generated editorconfig in {fixture.IntermediateDirectory}");
        string text = File.ReadAllText(editorConfigs[0]).Replace("\r\n", "\n");
        output.WriteLine(text);

        Check(text.Contains($"build_property.RootNamespace = {PackedConsumerFixture.ConsumerName}\n"), "RootNamespace is not visible to the generator:\n" + text);
        string manifestPath = Path.Combine(fixture.IntermediateDirectory, "mobilevit", $"{PackedConsumerFixture.ModelName}-{hash}", "model.manifest");
        foreach (var (path, role) in new[] { (Path.Combine(key, "config.json"), "config"), (manifestPath, "manifest") })
        {
            string section = Section(text, path);
            Check(section.Length > 0, $"no section [{path}] in the editorconfig:\n{text}");
            string[] lines =
            [
                $"build_metadata.AdditionalFiles.MobileViTRole = {role}",
                $"build_metadata.AdditionalFiles.MobileViTKey = {key}",
                $"build_metadata.AdditionalFiles.MobileViTModelName = {PackedConsumerFixture.ModelName}",
                $"build_metadata.AdditionalFiles.MobileViTClassName = {PackedConsumerFixture.ClassName}",
                "build_metadata.AdditionalFiles.MobileViTNamespace = ",
                $"build_metadata.AdditionalFiles.MobileViTResourceName = MobileViT.Compiled.Weights.{PackedConsumerFixture.ModelName}-{hash}",
            ];
            foreach (string line in lines)
                Check(section.Split('\n').Any(l => l.TrimEnd() == line.TrimEnd()), $"section [{path}] lacks '{line}':\n{section}");
        }
        Check(!text.Contains("preprocessor_config.json"), "no preprocessor_config.json was copied, so none may be an AdditionalFile");
    }

    [Fact]
    public void Consumer_WeightsArePreparedAtBuildTimeAndEmbeddedOnce()
    {
        Check(fixture.Prepare is { Succeeded: true }, "the consumer's MobileViTPrepareModels target failed");
        string folder = $"{PackedConsumerFixture.ModelName}-{ShortHash(Path.GetFullPath(fixture.ModelDirectory))}";
        string resourceName = $"MobileViT.Compiled.Weights.{folder}";

        // What the build hands the compiler (msbuild -getItem prints the items as JSON after the target ran): the
        // prepared weights the package's weight compiler wrote, and not the safetensors file as well.
        string json = fixture.Prepare!.Output[fixture.Prepare.Output.IndexOf('{')..];
        using var document = JsonDocument.Parse(json);
        var resources = document.RootElement.GetProperty("Items").GetProperty("EmbeddedResource").EnumerateArray().ToList();
        string prepared = resources.Where(r => r.GetProperty("LogicalName").GetString() == resourceName)
            .Select(r => r.GetProperty("FullPath").GetString()!).SingleOrDefault() ?? "";
        Check(prepared.EndsWith(Path.Combine("mobilevit", folder, "weights.prepared"), StringComparison.Ordinal),
            $"no EmbeddedResource {resourceName} holding the prepared weights:\n{json}");
        Check(!resources.Any(r => r.GetProperty("FullPath").GetString()!.EndsWith("model.safetensors", StringComparison.Ordinal)),
            $"model.safetensors is embedded as well as the prepared weights:\n{json}");
        Check(File.Exists(prepared) && File.ReadAllBytes(prepared).AsSpan(0, 8).SequenceEqual("MVCPREPW"u8),
            $"{prepared} is missing or does not start with the prepared-weights header");

        // And, once the consumer compiles, what the assembly holds.
        if (File.Exists(fixture.ConsumerAssembly))
        {
            using var pe = new PEReader(File.OpenRead(fixture.ConsumerAssembly));
            var metadata = pe.GetMetadataReader();
            var names = metadata.ManifestResources.Select(h => metadata.GetString(metadata.GetManifestResource(h).Name)).ToList();
            Check(names.Contains(resourceName), $"{fixture.ConsumerAssembly} has the resources [{string.Join(", ", names)}], not {resourceName}");
        }
    }

    [Fact]
    public void Consumer_WeightPreparationIsReportedAndIncremental()
    {
        Check(fixture.Prepare is { Succeeded: true } && fixture.Build is { Succeeded: true }, "the consumer did not build");
        const string Prepared = "MobileViT: prepared the weights of " + PackedConsumerFixture.ModelName + " at build time";
        // The build after the fixture's first preparation had nothing to redo.
        Check(!fixture.Build!.Output.Contains(Prepared, StringComparison.Ordinal),
            $"the build prepared the unchanged weights again:\n{fixture.Build.Output}");

        // New weights (here: a newer time stamp) are prepared again, and the build says how long it took.
        File.SetLastWriteTimeUtc(Path.Combine(fixture.ModelDirectory, "model.safetensors"), DateTime.UtcNow);
        var changed = BuildConsumer();
        Check(changed.Succeeded && changed.Output.Contains(Prepared, StringComparison.Ordinal) && changed.Output.Contains(" ms -> ", StringComparison.Ordinal),
            $"the build after the weights changed did not prepare and report them:\n{changed}");
        var unchanged = BuildConsumer();
        Check(unchanged.Succeeded && !unchanged.Output.Contains(Prepared, StringComparison.Ordinal),
            $"the build after that prepared the unchanged weights again:\n{unchanged}");
    }

    private ProcessResult BuildConsumer()
        => ProcessRunner.Run(ProcessRunner.DotNet,
            ["build", fixture.ConsumerProject, "-c", PackedConsumerFixture.Configuration, "-nodeReuse:false", "-p:UseSharedCompilation=false"],
            fixture.ConsumerDirectory, fixture.ConsumerEnvironment);

    [Fact]
    public void Consumer_BuildsAndItsLogitsMatchTheReference()
    {
        Check(fixture.Build is { Succeeded: true }, "the consumer project did not build");
        Check(fixture.Run is { Succeeded: true }, "the consumer program failed");

        var (_, reference) = SafetensorsFile.ReadF32(fixture.ReferencePath, "logits.test16");
        float[] expected = reference[..10];
        var lines = fixture.Run!.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        float[] actual = lines.Where(l => !l.StartsWith("labels:", StringComparison.Ordinal) && !l.StartsWith("int8:", StringComparison.Ordinal))
            .Select(l => float.Parse(l, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        Check(actual.Length == 10, $"expected 10 logits, the program printed:\n{fixture.Run.Output}");

        double maxReference = expected.Max(v => Math.Abs((double)v));
        double maxError = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        double tolerance = 1e-4 * Math.Max(1, maxReference);
        output.WriteLine($"max |ours - reference| = {maxError:G4}, tolerance {tolerance:G4}");
        Check(maxError <= tolerance,
            $"logits differ from the reference by {maxError:G4} (tolerance {tolerance:G4}):\n" +
            string.Join("\n", expected.Zip(actual, (e, a) => $"  reference {e,12:G7}  ours {a,12:G7}")));
    }

    /// <summary>
    /// The same folder listed again with Precision="int8": its own folder (hash of the key + "#int8"), its own copy of
    /// config.json carrying the int8 item's metadata to the generator, its own smaller prepared weights, and a class that
    /// runs and agrees with the fp32 one.
    /// </summary>
    [Fact]
    public void Consumer_Int8ItemBuildsBesideTheFp32One()
    {
        Check(fixture.Prepare is { Succeeded: true }, "the consumer's MobileViTPrepareModels target failed");
        string key = Path.GetFullPath(fixture.ModelDirectory);
        string fp32Folder = Path.Combine(fixture.IntermediateDirectory, "mobilevit", $"{PackedConsumerFixture.ModelName}-{ShortHash(key)}");
        string int8Folder = Path.Combine(fixture.IntermediateDirectory, "mobilevit", $"{PackedConsumerFixture.ModelName}-{ShortHash(key + "#int8")}");
        string config = Path.Combine(int8Folder, "config.json");
        Check(File.Exists(config) && File.ReadAllBytes(config).SequenceEqual(File.ReadAllBytes(Path.Combine(key, "config.json"))),
            $"the int8 item has no copy of config.json at {config}");
        string[] editorConfigs = Directory.GetFiles(fixture.IntermediateDirectory, "*.GeneratedMSBuildEditorConfig.editorconfig");
        string text = File.ReadAllText(editorConfigs.Single()).Replace("\r\n", "\n");
        string section = Section(text, config);
        Check(section.Contains("build_metadata.AdditionalFiles.MobileViTPrecision = int8") && section.Contains($"build_metadata.AdditionalFiles.MobileViTClassName = {PackedConsumerFixture.ClassName}Int8"),
            $"the int8 config's section lacks its metadata:\n{section}");
        long fp32Bytes = new FileInfo(Path.Combine(fp32Folder, "weights.prepared")).Length, int8Bytes = new FileInfo(Path.Combine(int8Folder, "weights.prepared")).Length;
        output.WriteLine($"prepared weights: fp32 {fp32Bytes} bytes, int8 {int8Bytes} bytes ({(double)int8Bytes / fp32Bytes:F2}x)");
        Check(int8Bytes < 0.3 * fp32Bytes, $"the int8 weights ({int8Bytes} bytes) are not about a quarter of fp32's ({fp32Bytes})");

        Check(fixture.Run is { Succeeded: true }, "the consumer program failed");
        var lines = fixture.Run!.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        float[] fp32 = lines.Take(10).Select(l => float.Parse(l, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        string[] int8Line = lines.Single(l => l.StartsWith("int8:", StringComparison.Ordinal)).Split(' ')[1..];
        Check(int8Line[0] == "int8", $"the int8 class reports Precision {int8Line[0]}");
        float[] int8 = int8Line[1..].Select(v => float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        double largest = fp32.Max(v => Math.Abs((double)v));
        double difference = fp32.Zip(int8, (a, b) => Math.Abs((double)a - b)).Max();
        output.WriteLine($"int8 vs fp32: max |diff| {difference:G4} of largest {largest:G4}");
        Check(Array.IndexOf(int8, int8.Max()) == Array.IndexOf(fp32, fp32.Max()) && difference <= 0.1 * largest,
            $"int8 logits disagree with fp32: [{string.Join(", ", int8)}] vs [{string.Join(", ", fp32)}]");
    }

    /// <summary>The short hash the build uses in folder and resource names: 8 hex digits of SHA-256(UTF-8 key).</summary>
    private static string ShortHash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..8];

    private static string Section(string editorConfig, string path)
    {
        int start = editorConfig.IndexOf($"[{path}]\n", StringComparison.Ordinal);
        if (start < 0) return "";
        int end = editorConfig.IndexOf("\n[", start + 1, StringComparison.Ordinal);
        return end < 0 ? editorConfig[start..] : editorConfig[start..end];
    }

    private static string ListFiles(string directory)
        => Directory.Exists(directory)
            ? string.Join("\n  ", Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f)))
            : "(missing)";
}
