using System.Globalization;

namespace MobileViT.Compiled.IO;

/// <summary>How a layer's weight matrix is laid out for its kernel (the packers in Kernels/).</summary>
public enum WeightPacking
{
    /// <summary>As stored: depthwise filters, linear layers.</summary>
    None,
    /// <summary>The GEMM's 8-row panels of a [out, in] matrix (PointwiseConv.PackWeights).</summary>
    Pointwise,
    /// <summary>The GEMM's panels of a [out, in * k * k] matrix (Conv2D.PackWeights).</summary>
    Conv2D,
    /// <summary>Winograd F(2x2, 3x3) transformed, one GEMM matrix per position (WinogradConv2D.PackWeights).</summary>
    Winograd,
    /// <summary>
    /// A convolution or linear layer [out, in * k * k] quantized to int8 per output row and encoded as one float entry
    /// (QuantizedWeights.Encode), which QuantizedPointwise (k = 1) and QuantizedConv2D read in place.
    /// </summary>
    Int8,
}

/// <summary>
/// The weight preparation of one compiled architecture, as the generator writes it (the generated class's
/// <c>WeightsRecipe</c>): one line per layer, each giving one or two entries of the prepared weights, in order.
/// <code>
/// label tensor NAME                          one entry: the tensor as stored (LayerNorm gamma or beta)
/// label conv PACK IN OUT K SOURCE            two entries: the weight, packed, and the bias
/// SOURCE: plain WEIGHT BIAS|-                a convolution or linear layer (no bias: zeros)
///       | bn WEIGHT NORM_PREFIX EPS          BatchNorm folded into the convolution before it
///       | qkv Q K V QB|- KB|- VB|-           query, key and value concatenated along the output axis
///       | merge MIDDLE SOURCE SOURCE         two 1x1s in a row (IN -> MIDDLE -> OUT) multiplied into one
/// PACK: none | pointwise | conv2d | winograd | int8
/// </code>
/// int8: the weight entry is the encoded int8 weight of the [OUT, IN * K * K] matrix (QuantizedWeights.Encode: scales,
/// row sums, packed bytes); the bias stays float.
/// The build step and <c>Load</c> both run <see cref="WeightPreparer"/> on it, so they give the same bytes.
/// </summary>
public sealed class WeightRecipe
{
    private WeightRecipe(IReadOnlyList<RecipeLine> lines)
    {
        Lines = lines;
        EntryCount = lines.Sum(l => l.EntryCount);
    }

    public IReadOnlyList<RecipeLine> Lines { get; }

    /// <summary>Entries of the prepared weights: one per tensor line, two per conv line.</summary>
    public int EntryCount { get; }

    public static WeightRecipe Parse(string text)
    {
        var lines = new List<RecipeLine>();
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0) continue;
            var tokens = new Tokens(line.Split(' ', StringSplitOptions.RemoveEmptyEntries), number);
            string label = tokens.Next();
            string kind = tokens.Next();
            RecipeLine parsed = kind switch
            {
                "tensor" => new RecipeLine(label, tokens.Next(), WeightPacking.None, 0, 0, 0, null),
                "conv" => ParseConv(label, ref tokens),
                _ => throw tokens.Error($"unknown kind '{kind}'"),
            };
            tokens.End();
            lines.Add(parsed);
        }
        return new WeightRecipe(lines);
    }

    private static RecipeLine ParseConv(string label, ref Tokens tokens)
    {
        var packing = tokens.Next() switch
        {
            "none" => WeightPacking.None,
            "pointwise" => WeightPacking.Pointwise,
            "conv2d" => WeightPacking.Conv2D,
            "winograd" => WeightPacking.Winograd,
            "int8" => WeightPacking.Int8,
            var other => throw tokens.Error($"unknown packing '{other}'"),
        };
        int inChannels = tokens.Int(), outChannels = tokens.Int(), kernelSize = tokens.Int();
        return new RecipeLine(label, null, packing, inChannels, outChannels, kernelSize, ParseSource(ref tokens));
    }

    private static RecipeSource ParseSource(ref Tokens tokens)
    {
        string kind = tokens.Next();
        switch (kind)
        {
            case "plain": return new RecipeSource.Plain(tokens.Next(), tokens.Optional());
            case "bn": return new RecipeSource.BatchNorm(tokens.Next(), tokens.Next(), tokens.Float());
            case "qkv":
                return new RecipeSource.QueryKeyValue([tokens.Next(), tokens.Next(), tokens.Next()],
                    [tokens.Optional(), tokens.Optional(), tokens.Optional()]);
            case "merge":
                int middle = tokens.Int();
                var first = ParseSource(ref tokens);
                return new RecipeSource.Merge(middle, first, ParseSource(ref tokens));
            default: throw tokens.Error($"unknown source '{kind}'");
        }
    }

    private struct Tokens(string[] tokens, int line)
    {
        private int _at;

        public string Next() => _at < tokens.Length ? tokens[_at++] : throw Error("ends early");
        public string? Optional() => Next() is var t && t == "-" ? null : t;
        public int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw Error($"'{tokens[_at - 1]}' is not a positive integer");
        public float Float() => float.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v : throw Error($"'{tokens[_at - 1]}' is not a number");
        public readonly void End() { if (_at != tokens.Length) throw Error($"unexpected '{tokens[_at]}'"); }
        public readonly FormatException Error(string problem) => new($"weight recipe line {line}: {problem}");
    }
}

/// <summary>One layer of a <see cref="WeightRecipe"/>: a stored tensor (<see cref="Tensor"/>), or a convolution's weight and bias.</summary>
public sealed record RecipeLine(string Label, string? Tensor, WeightPacking Packing, int InChannels, int OutChannels,
    int KernelSize, RecipeSource? Source)
{
    public int EntryCount => Tensor is null ? 2 : 1;
}

/// <summary>Where a convolution's (unpacked) weight and bias come from.</summary>
public abstract record RecipeSource
{
    private RecipeSource() { }

    public sealed record Plain(string Weight, string? Bias) : RecipeSource;
    public sealed record BatchNorm(string Weight, string NormPrefix, float Epsilon) : RecipeSource;
    public sealed record QueryKeyValue(string[] Weights, string?[] Biases) : RecipeSource;
    /// <summary>y = Second(First(x)): First maps IN to Middle channels, Second Middle to OUT.</summary>
    public sealed record Merge(int Middle, RecipeSource First, RecipeSource Second) : RecipeSource;
}
