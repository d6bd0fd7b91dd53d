using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using MobileViT.Compiled.Generator.Emit;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator;

/// <summary>
/// The generator's parse and lower stages for the build's weight compiler (src/WeightCompiler), which prepares the
/// weights the generated class reads: the same plan, so the same recipe and fingerprint.
/// </summary>
internal static class BuildTimePlan
{
    /// <returns>Null when the generator will refuse the model (it reports why).</returns>
    public static (string Recipe, ulong Fingerprint, int EntryCount, string Sha256, (string Name, int[] Shape)[] Tensors)? Plan(
        string folder, string configPath, string? configText, string manifestPath, string manifestText, string precision)
    {
        var input = new ModelInput(folder, Path.GetFileName(folder), "Model", "", "weights", configPath, configText,
            manifestPath, manifestText, "", precision);
        var diagnostics = new List<DiagnosticInfo>();
        var spec = ModelGenerator.Parse(input, diagnostics);
        if (spec is null || spec.Weights is null) return null;
        var plan = ModelGenerator.Lower(spec, diagnostics);
        if (plan is null || diagnostics.Any(d => DiagnosticCatalog.Find(d.Id).DefaultSeverity == DiagnosticSeverity.Error)) return null;
        var (recipe, fingerprint, entries) = WeightRecipeWriter.Write(plan);
        return (recipe, fingerprint, entries, spec.Weights.Sha256,
            plan.Tensors.Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray())).ToArray());
    }
}
