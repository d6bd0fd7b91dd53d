using MobileViT.Compiled.Kernels;

namespace MobileViT.Compiled.IO;

/// <summary>
/// Runs a <see cref="WeightRecipe"/> on the tensors of a weights file: BatchNorm folded, 1x1 pairs multiplied out,
/// query/key/value concatenated, every GEMM weight packed. The build step calls it to write the prepared weights the
/// assembly embeds, and Load calls it on a safetensors file: one implementation, the same bytes.
/// The packed layout (8-row panels) is the same for every vector width, so one prepared form serves every CPU.
/// </summary>
public static class WeightPreparer
{
    /// <summary>The prepared entries, in recipe order.</summary>
    public static float[][] Prepare(WeightRecipe recipe, ITensorSource tensors)
    {
        var entries = new float[recipe.EntryCount][];
        int at = 0;
        foreach (var line in recipe.Lines)
        {
            if (line.Tensor is not null)
            {
                entries[at++] = tensors.Get(line.Tensor).ToArray();
                continue;
            }
            var (weight, bias) = Evaluate(line.Source!, line.InChannels, line.OutChannels, line.KernelSize, tensors);
            entries[at++] = Pack(line.Packing, weight, line.InChannels, line.OutChannels, line.KernelSize);
            entries[at++] = bias;
        }
        return entries;
    }

    /// <summary>
    /// The float count of each entry <see cref="Prepare"/> gives, from the recipe and the tensors' shapes alone (no data):
    /// what a prepared file must hold for the compiled model to read it.
    /// </summary>
    public static long[] EntryLengths(WeightRecipe recipe, IReadOnlyList<ExpectedTensor> tensors)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var tensor in tensors) sizes[tensor.Name] = tensor.ElementCount;
        long Size(string name) => sizes.TryGetValue(name, out long size) ? size : -1;
        var lengths = new long[recipe.EntryCount];
        int at = 0;
        foreach (var line in recipe.Lines)
        {
            if (line.Tensor is not null)
            {
                lengths[at++] = Size(line.Tensor);
                continue;
            }
            var (weight, bias) = Lengths(line.Source!, line.InChannels, line.OutChannels, Size);
            lengths[at++] = line.Packing switch
            {
                WeightPacking.None => weight,
                WeightPacking.Pointwise => Gemm.PackedLength(line.InChannels, line.OutChannels),
                WeightPacking.Conv2D => Gemm.PackedLength(line.InChannels * line.KernelSize * line.KernelSize, line.OutChannels),
                WeightPacking.Winograd => WinogradConv2D.PackedLength(line.InChannels, line.OutChannels),
                WeightPacking.Int8 => QuantizedWeights.EncodedLength(line.InChannels * line.KernelSize * line.KernelSize, line.OutChannels),
                _ => throw new ArgumentOutOfRangeException(nameof(recipe)),
            };
            lengths[at++] = bias;
        }
        return lengths;
    }

    private static (long Weight, long Bias) Lengths(RecipeSource source, int inChannels, int outChannels, Func<string, long> size) => source switch
    {
        RecipeSource.Plain plain => (size(plain.Weight), plain.Bias is null ? outChannels : size(plain.Bias)),
        RecipeSource.BatchNorm bn => (size(bn.Weight), outChannels),
        RecipeSource.QueryKeyValue qkv => (qkv.Weights.Sum(size),
            qkv.Biases.All(b => b is not null) ? qkv.Biases.Sum(b => size(b!)) : outChannels),
        RecipeSource.Merge => ((long)outChannels * inChannels, outChannels),
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown recipe source"),
    };

    /// <summary>A convolution's weight as stored ([out, in, k, k] row-major) and its bias.</summary>
    private static (float[] Weight, float[] Bias) Evaluate(RecipeSource source, int inChannels, int outChannels, int kernelSize, ITensorSource tensors)
    {
        switch (source)
        {
            case RecipeSource.Plain plain:
                return (tensors.Get(plain.Weight).ToArray(), plain.Bias is null ? new float[outChannels] : tensors.Get(plain.Bias).ToArray());
            case RecipeSource.BatchNorm bn:
                return WeightPreparation.FoldBatchNorm(tensors, bn.Weight, bn.NormPrefix, outChannels, bn.Epsilon);
            case RecipeSource.QueryKeyValue qkv:
                var weight = WeightPreparation.Concatenate([.. qkv.Weights.Select(w => tensors.Get(w).ToArray())]);
                var bias = qkv.Biases.All(b => b is not null)
                    ? WeightPreparation.Concatenate([.. qkv.Biases.Select(b => tensors.Get(b!).ToArray())])
                    : new float[outChannels];
                return (weight, bias);
            case RecipeSource.Merge merge:
                var first = Evaluate(merge.First, inChannels, merge.Middle, 1, tensors);
                var second = Evaluate(merge.Second, merge.Middle, outChannels, 1, tensors);
                return WeightPreparation.MultiplyPointwise(second.Weight, second.Bias, first.Weight, first.Bias, inChannels, merge.Middle, outChannels);
            default:
                throw new ArgumentOutOfRangeException(nameof(source), source, "unknown recipe source");
        }
    }

    private static float[] Pack(WeightPacking packing, float[] weight, int inChannels, int outChannels, int kernelSize) => packing switch
    {
        WeightPacking.None => weight,
        WeightPacking.Pointwise => PointwiseConv.PackWeights(weight, inChannels, outChannels),
        WeightPacking.Conv2D => Conv2D.PackWeights(weight, inChannels, outChannels, kernelSize),
        WeightPacking.Winograd => WinogradConv2D.PackWeights(weight, inChannels, outChannels),
        WeightPacking.Int8 => QuantizedWeights.Encode(weight, inChannels * kernelSize * kernelSize, outChannels),
        _ => throw new ArgumentOutOfRangeException(nameof(packing)),
    };
}
