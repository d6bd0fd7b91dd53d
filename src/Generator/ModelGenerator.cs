using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator;

/// <summary>
/// Compiles each &lt;MobileViTModel&gt; folder (config.json + the weights manifest the build writes for
/// model.safetensors) into a specialized C# class. Pipeline: gather the files of each model -> parse -> lower -> emit.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ModelGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select(static (pair, ct) => ModelFile.From(pair.Left, pair.Right.GetOptions(pair.Left), ct))
            .Where(static file => file is not null)
            .Select(static (file, _) => file!)
            .WithTrackingName("ModelFiles");

        var rootNamespace = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => options.GlobalOptions.TryGetValue("build_property.RootNamespace", out var ns) ? ns : "");

        var models = files.Collect()
            .Combine(rootNamespace)
            .SelectMany(static (pair, _) => ModelFile.Group(pair.Left, pair.Right))
            .WithTrackingName("ModelInputs");

        var results = models
            .Select(static (input, ct) => Compile(input))
            .WithTrackingName("CompiledModels");

        context.RegisterSourceOutput(results, static (spc, result) =>
        {
            foreach (var diagnostic in result.Diagnostics) spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Source is not null) spc.AddSource(result.HintName, result.Source);
        });
    }

    /// <summary>One model through the three stages. Pure: the same input gives the same result, so it caches.</summary>
    internal static CompileResult Compile(ModelInput input)
    {
        var diagnostics = new System.Collections.Generic.List<DiagnosticInfo>();
        var spec = Parse(input, diagnostics);
        if (spec is null) return new CompileResult(input.ClassName + ".g.cs", null, diagnostics.ToEquatableArray());
        var plan = Lower(spec, diagnostics);
        if (plan is null || diagnostics.Any(d => DiagnosticCatalog.Find(d.Id).DefaultSeverity == DiagnosticSeverity.Error))
            return new CompileResult(spec.ClassName + ".g.cs", null, diagnostics.ToEquatableArray());
        string source = Emit(spec, plan);
        return new CompileResult($"{spec.ClassName}.MobileViT.g.cs", source, diagnostics.ToEquatableArray());
    }
}

/// <summary>What the generator produces for one model: a source file or nothing, and diagnostics.</summary>
internal sealed record CompileResult(string HintName, string? Source, EquatableArray<DiagnosticInfo> Diagnostics);
