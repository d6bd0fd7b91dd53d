using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator.Tests.Hardening;

/// <summary>
/// Shared helpers for the hostile-input tests: the fashion fixture as a base, and one check that the generator
/// answered a model folder the documented way (its own MVC diagnostics, never an exception, CS8785 or AD0001).
/// </summary>
internal static class HostileFolder
{
    public const string Model = "mobilevit-xx-small-fashion";
    public const string WeightsPath = "/models/m/model.safetensors";
    public static readonly string ConfigText = File.ReadAllText(Path.Combine(ModelFolder.FixtureDirectory(Model), "config.json"));
    public static readonly byte[] Weights = File.ReadAllBytes(Path.Combine(ModelFolder.FixtureDirectory(Model), "model.safetensors"));
    public static readonly string FixtureManifest = ModelFolder.ManifestFor(Weights, WeightsPath);

    public static JsonObject Config() => JsonNode.Parse(ConfigText)!.AsObject();

    public static readonly string HeaderText = Encoding.UTF8.GetString(Weights, 8, (int)BitConverter.ToUInt64(Weights, 0));
    private static readonly JsonObject s_header = JsonNode.Parse(HeaderText)!.AsObject();

    /// <summary>A fresh, editable copy of the fixture's safetensors header.</summary>
    /// <remarks>Locked: JsonNode materializes its children lazily, so concurrent first reads of the shared node race.</remarks>
    public static JsonObject Header()
    {
        lock (s_header) return s_header.DeepClone().AsObject();
    }

    public static long DataLength => Weights.Length - 8 - (long)BitConverter.ToUInt64(Weights, 0);

    /// <summary>A manifest whose header is <paramref name="header"/> over <paramref name="dataLength"/> data bytes.</summary>
    public static string Manifest(string header, long? dataLength = null)
    {
        int headerLength = Encoding.UTF8.GetByteCount(header);
        return "mobilevit-weights-manifest 1\nfile: " + WeightsPath + "\n"
            + $"length: {8 + headerLength + (dataLength ?? DataLength)}\nsha256: 00\nheader_length: {headerLength}\nheader:\n{header}";
    }

    public static ModelFolder Folder(string? config = null, string? manifest = null)
        => new("m", config ?? ConfigText, manifest ?? FixtureManifest);

    /// <summary>
    /// Runs the generator (without compiling its output) and checks the contract: no exception escaped any
    /// stage, every diagnostic is the project's own (MVC...), and an error means no source was added.
    /// </summary>
    public static Outcome Check(ModelFolder folder, bool compile = false)
    {
        var driver = GeneratorHarness.CreateDriver(folder);
        Compilation? output = null;
        driver = compile
            ? driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.EmptyCompilation(), out output, out _)
            : driver.RunGenerators(GeneratorHarness.EmptyCompilation());
        var run = driver.GetRunResult();
        foreach (var result in run.Results)
            Assert.True(result.Exception is null, $"the generator threw: {result.Exception}");
        foreach (var d in run.Diagnostics)
            Assert.True(d.Id.StartsWith("MVC", StringComparison.Ordinal), $"a diagnostic that is not the project's own: {d}");
        var errors = run.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var sources = run.Results.SelectMany(r => r.GeneratedSources).ToList();
        if (errors.Count > 0) Assert.Empty(sources);
        else Assert.Single(sources);
        if (compile && errors.Count == 0)
        {
            var compileErrors = output!.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(compileErrors.Count == 0, "the generated source does not compile: " + string.Join("; ", compileErrors.Take(5)));
        }
        return new Outcome(run.Diagnostics, errors.FirstOrDefault());
    }

    public sealed record Outcome(System.Collections.Immutable.ImmutableArray<Diagnostic> Diagnostics, Diagnostic? FirstError)
    {
        public bool Accepted => FirstError is null;
    }
}
