using System;
using System.Collections.Generic;
using System.Globalization;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 1: walks the MobileViT architecture (Hugging Face MobileViTModel + classification head) described by a
/// config and emits fused layer steps: every convolution already carries its BatchNorm (folded at load time)
/// and activation, residual adds ride in the epilogue of the 1x1 convolution before them, the QKV projections
/// are one GEMM, and unfold/attention/fold is one index-mapping kernel.
/// </summary>
internal sealed class NetworkBuilder
{
    private readonly ModelConfig _config;
    private readonly List<LayerStep> _steps = new();
    private readonly List<ValueInfo> _values = new();
    private readonly List<TensorSpec> _tensors = new();
    private readonly List<StageOutput> _stages = new();
    private long _macs;

    private NetworkBuilder(ModelConfig config) => _config = config;

    public static NetworkBuilder Build(ModelConfig config)
    {
        var builder = new NetworkBuilder(config);
        builder.BuildClassifier();
        return builder;
    }

    public IReadOnlyList<LayerStep> Steps => _steps;
    public IReadOnlyList<ValueInfo> Values => _values;
    public IReadOnlyList<TensorSpec> Tensors => _tensors;
    public IReadOnlyList<StageOutput> Stages => _stages;
    public long MultiplyAccumulates => _macs;
    public Shape InputShape => new(_config.NumChannels, _config.ImageSize, _config.ImageSize);

    private void BuildClassifier()
    {
        var neck = _config.NeckHiddenSizes;
        var hidden = _config.HiddenSizes;
        int input = NewValue(InputShape, "pixel_values");
        int output = NewValue(new Shape(_config.Labels.Count, 1, 1), "logits");

        int x = ConvLayer("mobilevit.conv_stem", "conv_stem", input, neck[0], 3, stride: 2);
        x = MobileNetLayer(0, x, neck[1], stride: 1, blocks: 1);
        x = MobileNetLayer(1, x, neck[2], stride: 2, blocks: 3);
        x = MobileViTLayer(2, x, neck[3], hidden[0], transformerLayers: 2);
        x = MobileViTLayer(3, x, neck[4], hidden[1], transformerLayers: 4);
        x = MobileViTLayer(4, x, neck[5], hidden[2], transformerLayers: 3);
        x = ConvLayer("mobilevit.conv_1x1_exp", "conv_1x1_exp", x, neck[6], 1);

        var expanded = Shape(x);
        int pooled = NewValue(new Shape(expanded.Channels, 1, 1), "pooled");
        AddStep(OpKind.GlobalAveragePool, $"global average pool: {expanded} -> {expanded.Channels}", "", WeightKind.None,
            Array.Empty<string>(), x, pooled, expanded, Shape(pooled));

        int labels = _config.Labels.Count;
        Require("classifier.weight", labels, expanded.Channels);
        Require("classifier.bias", labels);
        _macs += (long)labels * expanded.Channels;
        AddStep(OpKind.Linear, $"classifier: linear {expanded.Channels} -> {labels}", "classifier", WeightKind.Plain,
            new[] { "classifier.weight", "classifier.bias" }, pooled, output, Shape(pooled), Shape(output));
    }

    /// <summary>MobileViTMobileNetLayer: a stack of inverted residual blocks.</summary>
    private int MobileNetLayer(int stage, int x, int outChannels, int stride, int blocks)
    {
        for (int i = 0; i < blocks; i++)
            x = InvertedResidual($"mobilevit.encoder.layer.{stage}.layer.{i}", $"layer{stage}_{i}", x, outChannels, i == 0 ? stride : 1, output: -1);
        MarkStage(stage, x);
        return x;
    }

    /// <summary>MobileNetV2 block: 1x1 expand (BN, SiLU) -> 3x3 depthwise (BN, SiLU) -> 1x1 reduce (BN) [+ input].</summary>
    private int InvertedResidual(string module, string field, int x, int outChannels, int stride, int output)
    {
        var inShape = Shape(x);
        int expanded = MakeDivisible((int)Math.Round(inShape.Channels * _config.ExpandRatio, MidpointRounding.ToEven), 8);
        bool residual = stride == 1 && inShape.Channels == outChannels;
        int e = ConvLayer(module + ".expand_1x1", field + "_expand", x, expanded, 1);
        int d = ConvLayer(module + ".conv_3x3", field + "_depthwise", e, expanded, 3, stride, depthwise: true);
        return ConvLayer(module + ".reduce_1x1", field + "_reduce", d, outChannels, 1, activation: false,
            residual: residual ? x : -1, output: output);
    }

    /// <summary>
    /// MobileViTLayer: downsampling inverted residual, local kxk conv, 1x1 to the transformer width, transformer
    /// layers over unfolded patches, final LayerNorm, fold, 1x1 projection back, fusion conv over concat(residual, x).
    /// </summary>
    private int MobileViTLayer(int stage, int x, int outChannels, int hiddenSize, int transformerLayers)
    {
        string module = $"mobilevit.encoder.layer.{stage}";
        string field = $"layer{stage}";
        var inShape = Shape(x);
        int height = ConvOutputSize(inShape.Height, 3, 2, 1, 1);
        int width = ConvOutputSize(inShape.Width, 3, 2, 1, 1);
        var mapShape = new Shape(outChannels, height, width);

        // concat(residual, features) along channels is one buffer: the residual is its first half.
        int concat = NewValue(new Shape(2 * outChannels, height, width), $"{field}_concat");
        int residual = NewView(concat, mapShape, $"{field}_residual", 0);
        int projected = NewView(concat, mapShape, $"{field}_projected", mapShape.Length);

        InvertedResidual(module + ".downsampling_layer", field + "_down", x, outChannels, stride: 2, output: residual);
        int local = ConvLayer(module + ".conv_kxk", field + "_local", residual, outChannels, _config.ConvKernelSize);
        int tokens = ConvLayer(module + ".conv_1x1", field + "_to_tokens", local, hiddenSize, 1, batchNorm: false, activation: false);

        for (int i = 0; i < transformerLayers; i++)
            TransformerLayer($"{module}.transformer.layer.{i}", $"{field}_transformer{i}", tokens);

        int normalized = LayerNormStep(module + ".layernorm", field + "_norm", tokens);
        ConvLayer(module + ".conv_projection", field + "_projection", normalized, outChannels, 1, output: projected);
        int fused = ConvLayer(module + ".fusion", field + "_fusion", concat, outChannels, _config.ConvKernelSize);
        MarkStage(stage, fused);
        return fused;
    }

    /// <summary>Pre-norm transformer layer on the channel-major token map; both residual adds are in place.</summary>
    private void TransformerLayer(string module, string field, int x)
    {
        var shape = Shape(x);
        int c = shape.Channels;
        int ffn = (int)(c * _config.MlpRatio);
        int patch = _config.PatchSize;
        if (shape.Height % patch != 0 || shape.Width % patch != 0)
            throw new UnsupportedShapeException(
                $"the {shape.Height}x{shape.Width} feature map at {module} is not a multiple of patch_size {patch}; resizing to the next multiple is not compiled yet, so image_size {_config.ImageSize} cannot be used (use a multiple of {32 * patch})");

        int normalized = LayerNormStep(module + ".layernorm_before", field + "_norm1", x);

        string attention = module + ".attention.attention";
        var qkvTensors = new List<string>();
        foreach (var part in new[] { "query", "key", "value" })
        {
            Require($"{attention}.{part}.weight", c, c);
            qkvTensors.Add($"{attention}.{part}.weight");
        }
        if (_config.QkvBias)
            foreach (var part in new[] { "query", "key", "value" })
            {
                Require($"{attention}.{part}.bias", c);
                qkvTensors.Add($"{attention}.{part}.bias");
            }
        int qkv = NewValue(new Shape(3 * c, shape.Height, shape.Width), field + "_qkv");
        _macs += 3L * c * c * shape.Pixels;
        AddStep(OpKind.PointwiseConv, $"{module}: query/key/value projection {c} -> 3x{c}, {shape.Pixels} tokens", field + "_qkv",
            WeightKind.QueryKeyValue, qkvTensors.ToArray(), normalized, qkv, shape, Shape(qkv), activation: "Identity");

        int context = NewValue(shape, field + "_context");
        int tokens = shape.Pixels / (patch * patch);
        int headDim = c / _config.NumAttentionHeads;
        _macs += 2L * tokens * tokens * c * patch * patch;
        AddStep(OpKind.PatchAttention,
            $"{module}: unfold {patch}x{patch} patches, {_config.NumAttentionHeads}-head attention over {tokens} patches x {patch * patch} offsets (head dim {headDim}), fold",
            "", WeightKind.None, Array.Empty<string>(), qkv, context, Shape(qkv), shape, heads: _config.NumAttentionHeads, patchSize: patch);

        Linear(module + ".attention.output.dense", field + "_attn_out", context, c, "Identity", residual: x, output: x, what: "attention output");
        int normalized2 = LayerNormStep(module + ".layernorm_after", field + "_norm2", x);
        int hiddenValue = Linear(module + ".intermediate.dense", field + "_ffn1", normalized2, ffn, "Silu", residual: -1, output: -1, what: "feed-forward");
        Linear(module + ".output.dense", field + "_ffn2", hiddenValue, c, "Identity", residual: x, output: x, what: "feed-forward");
    }

    private int Linear(string module, string field, int x, int outFeatures, string activation, int residual, int output, string what)
    {
        var shape = Shape(x);
        Require(module + ".weight", outFeatures, shape.Channels);
        Require(module + ".bias", outFeatures);
        if (output < 0) output = NewValue(new Shape(outFeatures, shape.Height, shape.Width), field);
        _macs += (long)outFeatures * shape.Channels * shape.Pixels;
        string act = activation == "Silu" ? ", SiLU" : "";
        string add = residual >= 0 ? ", + residual (in place)" : "";
        AddStep(OpKind.PointwiseConv, $"{module}: {what} linear {shape.Channels} -> {outFeatures}{act}{add}, {shape.Pixels} tokens", field,
            WeightKind.Plain, new[] { module + ".weight", module + ".bias" }, x, output, shape, Shape(output), activation: activation, residual: residual);
        return output;
    }

    private int LayerNormStep(string module, string field, int x)
    {
        var shape = Shape(x);
        Require(module + ".weight", shape.Channels);
        Require(module + ".bias", shape.Channels);
        int output = NewValue(shape, field);
        AddStep(OpKind.LayerNorm, $"{module}: LayerNorm over {shape.Channels} channels, {shape.Pixels} tokens", field, WeightKind.Norm,
            new[] { module + ".weight", module + ".bias" }, x, output, shape, shape, epsilon: _config.LayerNormEps);
        return output;
    }

    /// <summary>MobileViTConvLayer: convolution (no bias) [+ BatchNorm folded] [+ SiLU] [+ residual].</summary>
    private int ConvLayer(string module, string field, int x, int outChannels, int kernelSize, int stride = 1,
        bool depthwise = false, bool batchNorm = true, bool activation = true, int residual = -1, int output = -1)
    {
        var inShape = Shape(x);
        int padding = (kernelSize - 1) / 2;
        var outShape = new Shape(outChannels,
            ConvOutputSize(inShape.Height, kernelSize, stride, padding, 1),
            ConvOutputSize(inShape.Width, kernelSize, stride, padding, 1));
        if (output < 0) output = NewValue(outShape, field);

        int inPerGroup = depthwise ? 1 : inShape.Channels;
        Require(module + ".convolution.weight", outChannels, inPerGroup, kernelSize, kernelSize);
        var tensors = new List<string> { module + ".convolution.weight" };
        if (batchNorm)
            foreach (var part in new[] { "weight", "bias", "running_mean", "running_var" })
            {
                Require($"{module}.normalization.{part}", outChannels);
                tensors.Add($"{module}.normalization.{part}");
            }
        _macs += (long)outShape.Length * inPerGroup * kernelSize * kernelSize;

        OpKind kind = depthwise ? OpKind.DepthwiseConv2D : kernelSize == 1 && stride == 1 ? OpKind.PointwiseConv : OpKind.Conv2D;
        string what = depthwise ? $"depthwise conv {kernelSize}x{kernelSize} s{stride} {outChannels}ch"
            : $"conv {kernelSize}x{kernelSize}{(stride > 1 ? " s" + stride.ToString(CultureInfo.InvariantCulture) : "")} {inShape.Channels}->{outChannels}";
        string comment = $"{module}: {what}{(batchNorm ? ", BN folded" : "")}{(activation ? ", SiLU" : "")}{(residual >= 0 ? ", + residual" : "")}: {inShape} -> {outShape}";
        AddStep(kind, comment, field, batchNorm ? WeightKind.ConvBatchNorm : WeightKind.Plain, tensors.ToArray(), x, output, inShape, outShape,
            kernelSize, stride, padding, 1, activation ? "Silu" : "Identity", residual: residual);
        return output;
    }

    private void AddStep(OpKind kind, string comment, string field, WeightKind weights, string[] tensors, int input, int output,
        Shape inShape, Shape outShape, int kernelSize = 1, int stride = 1, int padding = 0, int dilation = 1,
        string activation = "Identity", int residual = -1, int heads = 0, int patchSize = 0, double epsilon = 0)
        => _steps.Add(new LayerStep(_steps.Count, kind, comment, field, weights, tensors.ToEquatableArray(), input, residual, output,
            inShape, outShape, kernelSize, stride, padding, dilation, activation, heads, patchSize, epsilon));

    private void MarkStage(int stage, int value) => _stages.Add(new StageOutput(_steps.Count - 1, stage, value));

    private void Require(string name, params long[] shape) => _tensors.Add(new TensorSpec(name, shape.ToEquatableArray()));

    private Shape Shape(int value) => _values[value].Shape;

    private int NewValue(Shape shape, string name)
    {
        _values.Add(new ValueInfo(_values.Count, shape, name, -1, 0));
        return _values.Count - 1;
    }

    private int NewView(int parent, Shape shape, string name, int offset)
    {
        _values.Add(new ValueInfo(_values.Count, shape, name, parent, offset));
        return _values.Count - 1;
    }

    public static int ConvOutputSize(int size, int kernel, int stride, int padding, int dilation)
        => (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>Hugging Face's make_divisible (from the TensorFlow MobileNet code): round to a multiple of 8, never 10 % below.</summary>
    public static int MakeDivisible(int value, int divisor)
    {
        int result = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        if (result < 0.9 * value) result += divisor;
        return result;
    }
}

/// <summary>A config whose shapes the compiler cannot lower yet; reported as a diagnostic.</summary>
internal sealed class UnsupportedShapeException : Exception
{
    public UnsupportedShapeException(string message) : base(message) { }
}
