using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MobileViT.Compiled.Generator.Tests;

/// <summary>A model folder as the generator sees it: config.json text and the weights manifest text.</summary>
public sealed record ModelFolder(string Name, string? ConfigText, string? ManifestText, string ClassName = "", string Namespace = "Tests.Models",
    string Precision = "")
{
    /// <summary>Where the build puts this item's files: an int8 item has its own folder and copy of config.json.</summary>
    public string ItemDirectory => "/obj/mobilevit/" + Name + (Precision.Length > 0 ? "-" + Precision : "");

    public string Directory => "/models/" + Name;

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MobileViT.Compiled.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static string FixtureDirectory(string name) => Path.Combine(RepoRoot, "tests", "fixtures", "models", name);

    /// <summary>A fixture model folder, with the manifest the build would write for its model.safetensors.</summary>
    public static ModelFolder Fixture(string name, string className = "")
    {
        string dir = FixtureDirectory(name);
        return new ModelFolder(name, File.ReadAllText(Path.Combine(dir, "config.json")),
            ManifestFor(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), "/models/" + name + "/model.safetensors"), className);
    }

    /// <summary>The manifest format of src/Runtime/build/MobileViT.Compiled.targets, made from bytes in memory.</summary>
    public static string ManifestFor(byte[] file, string path)
    {
        var text = new StringBuilder();
        text.Append("mobilevit-weights-manifest 1\n");
        text.Append($"file: {path}\n");
        text.Append($"length: {file.Length}\n");
        text.Append($"sha256: {Convert.ToHexStringLower(SHA256.HashData(file))}\n");
        if (file.Length < 8)
        {
            text.Append($"error: the file is {file.Length} bytes long, shorter than the 8-byte header length\n");
            return text.ToString();
        }
        ulong headerLength = BitConverter.ToUInt64(file, 0);
        text.Append($"header_length: {headerLength}\n");
        if (headerLength > (ulong)(file.Length - 8))
        {
            text.Append($"error: the header length {headerLength} is larger than the file ({file.Length} bytes)\n");
            return text.ToString();
        }
        text.Append("header:\n");
        text.Append(Encoding.UTF8.GetString(file, 8, (int)headerLength));
        return text.ToString();
    }
}

/// <summary>Runs the generator in memory the way the compiler does for a project with &lt;MobileViTModel&gt; items.</summary>
public static class GeneratorHarness
{
    public sealed record Result(GeneratorDriver Driver, GeneratorDriverRunResult Run, Compilation Output, ImmutableArray<Diagnostic> CompileDiagnostics)
    {
        public ImmutableArray<Diagnostic> GeneratorDiagnostics => Run.Diagnostics;
        public IEnumerable<(string HintName, string Source)> Sources
            => Run.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString()));
    }

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(MobileViT.Compiled.IO.WeightLoader).Assembly.Location);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public static GeneratorDriver CreateDriver(params ModelFolder[] models)
    {
        var texts = new List<AdditionalText>();
        var options = new Dictionary<string, Dictionary<string, string>>();
        foreach (var model in models)
        {
            var metadata = new Dictionary<string, string>
            {
                ["MobileViTKey"] = model.Directory,
                ["MobileViTModelName"] = model.Name,
                ["MobileViTClassName"] = model.ClassName,
                ["MobileViTNamespace"] = model.Namespace,
                ["MobileViTResourceName"] = model.ManifestText is null ? "" : "MobileViT.Compiled.Weights." + model.Name,
                ["MobileViTPrecision"] = model.Precision,
            };
            string configPath = (model.Precision.Length > 0 ? model.ItemDirectory : model.Directory) + "/config.json";
            texts.Add(new InMemoryText(configPath, model.ConfigText));
            options[configPath] = new(metadata) { ["MobileViTRole"] = "config" };
            if (model.ManifestText is not null)
            {
                string manifestPath = model.ItemDirectory + "/model.manifest";
                texts.Add(new InMemoryText(manifestPath, model.ManifestText));
                options[manifestPath] = new(metadata) { ["MobileViTRole"] = "manifest" };
            }
        }
        return CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() },
            texts,
            parseOptions: new CSharpParseOptions(LanguageVersion.Latest),
            optionsProvider: new OptionsProvider(options),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    public static Compilation EmptyCompilation() => CSharpCompilation.Create("Consumer",
        new[] { CSharpSyntaxTree.ParseText("", new CSharpParseOptions(LanguageVersion.Latest)) },
        s_references.Value,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static Result Run(params ModelFolder[] models)
    {
        var driver = CreateDriver(models).RunGeneratorsAndUpdateCompilation(EmptyCompilation(), out var output, out _);
        return new Result(driver, driver.GetRunResult(), output, output.GetDiagnostics());
    }

    private sealed class InMemoryText(string path, string? text) : AdditionalText
    {
        public override string Path => path;
        public override SourceText? GetText(CancellationToken cancellationToken = default) => text is null ? null : SourceText.From(text, Encoding.UTF8);
    }

    private sealed class OptionsProvider(Dictionary<string, Dictionary<string, string>> perFile) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(new Dictionary<string, string> { ["RootNamespace"] = "Tests" }, "build_property.");
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Options(new(), "");
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile)
            => new Options(perFile.TryGetValue(textFile.Path, out var m) ? m : new(), "build_metadata.AdditionalFiles.");
    }

    private sealed class Options(Dictionary<string, string> values, string prefix) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, out string value)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && values.TryGetValue(key.Substring(prefix.Length), out var v))
            {
                value = v;
                return true;
            }
            value = "";
            return false;
        }
    }
}
