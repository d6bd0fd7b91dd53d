using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 2: checks the weights manifest against the tensors the architecture needs: each present, with the
/// exact shape and a float dtype. Extra tensors are a warning (BatchNorm's num_batches_tracked counters are
/// expected and ignored).
/// </summary>
internal static class WeightValidator
{
    public static void Validate(WeightsManifest manifest, IReadOnlyList<TensorSpec> needed, List<DiagnosticInfo> diagnostics)
    {
        string path = manifest.WeightsPath;
        var byName = manifest.Tensors.ToDictionary(t => t.Name);
        foreach (var tensor in needed)
        {
            if (!byName.TryGetValue(tensor.Name, out var entry))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorMissing, path, TextLocation.FileStart, tensor.Name, string.Join(", ", tensor.Shape)));
                continue;
            }
            if (!entry.Shape.Equals(tensor.Shape))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorShapeMismatch, path, entry.Location, tensor.Name,
                    string.Join(", ", entry.Shape), string.Join(", ", tensor.Shape)));
            else if (entry.DType != "F32" && entry.DType != "F16" && entry.DType != "BF16")
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorDTypeUnsupported, path, entry.Location, tensor.Name, entry.DType));
        }
        var neededNames = new HashSet<string>(needed.Select(t => t.Name));
        var unused = manifest.Tensors
            .Where(t => !neededNames.Contains(t.Name) && !t.Name.EndsWith(".num_batches_tracked", System.StringComparison.Ordinal))
            .ToList();
        if (unused.Count > 0)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorUnused, path, unused[0].Location, unused.Count, unused[0].Name));
    }
}
