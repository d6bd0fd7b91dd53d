using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MobileViT.Compiled.Generator.Model;

/// <summary>
/// One AdditionalFiles item the build tagged for a model (config.json, the weights manifest), with its text and
/// the metadata MobileViT.Compiled.targets attaches. Plain equatable data, so unchanged files stay cached.
/// </summary>
internal sealed record ModelFile(string Role, string Key, string ModelName, string ClassName, string Namespace,
    string ResourceName, string Precision, string Path, string? Text)
{
    private const string Prefix = "build_metadata.AdditionalFiles.";

    public static ModelFile? From(AdditionalText file, AnalyzerConfigOptions options, CancellationToken ct)
    {
        if (!options.TryGetValue(Prefix + "MobileViTRole", out var role) || string.IsNullOrEmpty(role)) return null;
        string Get(string name) => options.TryGetValue(Prefix + name, out var value) ? value : "";
        return new ModelFile(role, Get("MobileViTKey"), Get("MobileViTModelName"), Get("MobileViTClassName"),
            Get("MobileViTNamespace"), Get("MobileViTResourceName"), Get("MobileViTPrecision"), file.Path, file.GetText(ct)?.ToString());
    }

    /// <summary>
    /// Pairs each model's config.json with its manifest. One folder may be compiled twice, in fp32 and in int8 (the build
    /// gives the int8 item its own copy of config.json, so each file carries one item's metadata); the int8 class name
    /// defaults to the fp32 one + "Int8".
    /// </summary>
    public static ImmutableArray<ModelInput> Group(ImmutableArray<ModelFile> files, string rootNamespace)
    {
        var result = ImmutableArray.CreateBuilder<ModelInput>();
        foreach (var group in files.GroupBy(f => (f.Key, f.Precision)).OrderBy(g => g.Key.Key, StringComparer.Ordinal).ThenBy(g => g.Key.Precision, StringComparer.Ordinal))
        {
            var config = group.FirstOrDefault(f => f.Role == "config");
            var manifest = group.FirstOrDefault(f => f.Role == "manifest");
            var any = config ?? manifest ?? group.First();
            string modelName = any.ModelName.Length > 0 ? any.ModelName : System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(any.Path) ?? "model");
            bool int8 = string.Equals(any.Precision.Trim(), "int8", StringComparison.OrdinalIgnoreCase);
            string className = any.ClassName.Length > 0 ? any.ClassName : ToPascalCase(modelName) + (int8 ? "Int8" : "");
            string ns = any.Namespace.Length > 0 ? any.Namespace : rootNamespace;
            result.Add(new ModelInput(group.Key.Key, modelName, className, ns, any.ResourceName,
                config?.Path ?? System.IO.Path.Combine(group.Key.Key, "config.json"), config?.Text,
                manifest?.Path ?? "", manifest?.Text, rootNamespace, any.Precision));
        }
        return result.ToImmutable();
    }

    /// <summary>"mobilevit-x-small" -> "MobilevitXSmall"; a leading digit gets a "Model" prefix.</summary>
    public static string ToPascalCase(string name)
    {
        var builder = new System.Text.StringBuilder();
        bool upper = true;
        foreach (char c in name)
        {
            if (!char.IsLetterOrDigit(c)) { upper = true; continue; }
            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        if (builder.Length == 0 || char.IsDigit(builder[0])) builder.Insert(0, "Model");
        return builder.ToString();
    }
}
