using System.Collections.Generic;
using Microsoft.CodeAnalysis.CSharp;
using MobileViT.Compiled.Generator.Model;
using MobileViT.Compiled.Generator.Parsing;

namespace MobileViT.Compiled.Generator;

public sealed partial class ModelGenerator
{
    /// <summary>Stage 1: config.json + weights manifest -> <see cref="ModelSpec"/>, or diagnostics.</summary>
    internal static ModelSpec? Parse(ModelInput input, List<DiagnosticInfo> diagnostics)
    {
        if (!IsIdentifier(input.ClassName))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNameInvalid, input.ConfigPath, TextLocation.FileStart, input.ClassName, "it is not a valid C# identifier (set ClassName on the MobileViTModel item)"));
        if (input.Namespace.Length > 0 && !IsQualifiedName(input.Namespace))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNameInvalid, input.ConfigPath, TextLocation.FileStart, input.Namespace + "." + input.ClassName, "the namespace is not a valid C# name"));

        var precision = ParsePrecision(input, diagnostics);
        var config = ConfigParser.Parse(input.ConfigPath, input.ConfigText, diagnostics);
        WeightsManifest? weights = null;
        if (input.ManifestText is not null)
            weights = ManifestParser.Parse(input.ManifestPath, input.ManifestText, diagnostics);
        else if (input.ResourceName.Length > 0)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ManifestInvalid, input.ManifestPath, TextLocation.FileStart, "the weights manifest the build should have written is missing"));

        if (config is null || diagnostics.Count > 0) return null;
        return new ModelSpec(input.ClassName, input.Namespace, input.ResourceName, input.ModelName, input.ConfigPath, config, weights, precision);
    }

    /// <summary>"" or "fp32" (the default), "int8"; any case.</summary>
    private static Precision ParsePrecision(ModelInput input, List<DiagnosticInfo> diagnostics)
    {
        switch (input.Precision.Trim().ToLowerInvariant())
        {
            case "" or "fp32": return Precision.Fp32;
            case "int8": return Precision.Int8;
            default:
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.PrecisionUnsupported, input.ConfigPath, TextLocation.FileStart, input.Precision));
                return Precision.Fp32;
        }
    }

    private static bool IsIdentifier(string name)
        => SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None;

    private static bool IsQualifiedName(string name)
    {
        foreach (var part in name.Split('.'))
            if (!IsIdentifier(part)) return false;
        return true;
    }
}
