using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Emit;

/// <summary>
/// Plan -> weight recipe: how every layer's weights are prepared (runtime <c>WeightRecipe</c> documents the format),
/// and its fingerprint. The generated class carries both; the build's weight compiler calls this same writer to
/// prepare the weights it embeds, and stamps the fingerprint into them, so Create can check them in O(1).
/// </summary>
internal static class WeightRecipeWriter
{
    public static (string Recipe, ulong Fingerprint, int EntryCount) Write(NetworkPlan plan)
    {
        var sb = new StringBuilder();
        int entries = 0;
        foreach (var step in plan.Steps.Where(s => s.Weights != WeightKind.None))
        {
            if (step.NormalizesInput)
            {
                Line(sb, step.Field + ".gamma", "tensor " + step.NormTensors[0]);
                Line(sb, step.Field + ".beta", "tensor " + step.NormTensors[1]);
                entries += 2;
            }
            if (step.Weights == WeightKind.Norm)
            {
                Line(sb, step.Field + ".gamma", "tensor " + step.Tensors[0]);
                Line(sb, step.Field + ".beta", "tensor " + step.Tensors[1]);
                entries += 2;
                continue;
            }
            int kernel = step.Kind is OpKind.Conv2D or OpKind.WinogradConv2D or OpKind.DepthwiseConv2D ? step.KernelSize : 1;
            Line(sb, step.Field, $"conv {Packing(step)} {step.InShape.Channels} {step.OutShape.Channels} {kernel} {Source(step)}");
            entries += 2;
        }
        string recipe = sb.ToString();
        return (recipe, Fingerprint(recipe), entries);
    }

    /// <summary>The first 8 bytes of SHA-256(recipe), little-endian.</summary>
    public static ulong Fingerprint(string recipe)
    {
        using var sha = SHA256.Create();
        byte[] hash = sha.ComputeHash(Encoding.UTF8.GetBytes(recipe));
        ulong value = 0;
        for (int i = 7; i >= 0; i--) value = (value << 8) | hash[i];
        return value;
    }

    private static void Line(StringBuilder sb, string label, string text) => sb.Append(label).Append(' ').Append(text).Append('\n');

    private static string Packing(LayerStep step) => step.Kind switch
    {
        _ when step.Int8 => "int8",
        OpKind.PointwiseConv => "pointwise",
        OpKind.Conv2D => "conv2d",
        OpKind.WinogradConv2D => "winograd",
        _ => "none",
    };

    /// <summary>Where a convolution's unpacked weight and bias come from.</summary>
    private static string Source(LayerStep step)
    {
        var t = step.Tensors;
        if (step.MergedFirst is { } first)
            return $"merge {first.OutShape.Channels} {Source(first)} {Source(step with { MergedFirst = null })}";
        switch (step.Weights)
        {
            case WeightKind.ConvBatchNorm:
                string prefix = t[1].Substring(0, t[1].Length - ".weight".Length);
                return $"bn {t[0]} {prefix} {1e-5f.ToString("R", CultureInfo.InvariantCulture)}";
            case WeightKind.QueryKeyValue:
                return t.Count > 3 ? $"qkv {t[0]} {t[1]} {t[2]} {t[3]} {t[4]} {t[5]}" : $"qkv {t[0]} {t[1]} {t[2]} - - -";
            default:
                return $"plain {t[0]} {(t.Count > 1 ? t[1] : "-")}";
        }
    }
}
