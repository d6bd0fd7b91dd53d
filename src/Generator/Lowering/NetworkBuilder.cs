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
internal sealed partial class NetworkBuilder
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
        if (config.IsSegmentation) builder.BuildSegmentation();
        else if (config.IsHeadless) builder.BuildFeatureExtractor();
        else builder.BuildClassifier();
        return builder;
    }

    public IReadOnlyList<LayerStep> Steps => _steps;
    public IReadOnlyList<ValueInfo> Values => _values;
    public IReadOnlyList<TensorSpec> Tensors => _tensors;
    public IReadOnlyList<StageOutput> Stages => _stages;
    public long MultiplyAccumulates => _macs;
    public Shape InputShape => new(_config.NumChannels, _config.ImageSize, _config.ImageSize);
    public Shape OutputShape => _values[ValueInfo.Output].Shape;

    /// <summary>The pooled features' value (RunFeatures' output), or -1 for a segmentation model, which has none.</summary>
    public int FeatureValue { get; private set; } = -1;

    /// <summary>MobileViT(V2)ForImageClassification: the backbone's pooled features, then a linear classifier.</summary>
    private void BuildClassifier()
    {
        int input = NewValue(InputShape, "pixel_values");
        int output = NewValue(new Shape(_config.Labels.Count, 1, 1), "logits");
        ClassifierHead(PooledFeatures(input, pooled: -1), output);
    }

    /// <summary>MobileViTModel / MobileViTV2Model alone: the output is the pooled features (pooler_output).</summary>
    private void BuildFeatureExtractor()
    {
        int input = NewValue(InputShape, "pixel_values");
        int output = NewValue(new Shape(0, 0, 0), "features"); // value 1 by convention; its shape is known after the encoder
        PooledFeatures(input, output);
    }

    /// <summary>
    /// The backbone up to pooler_output: the encoder (for MobileViT with its 1x1 expansion), then the global average
    /// pool into <paramref name="pooled"/> (a new value when -1). Returns the pooled value.
    /// </summary>
    private int PooledFeatures(int input, int pooled)
    {
        int x;
        if (_config.IsV2) x = EncoderV2(input);
        else x = ConvLayer(_config.Prefix + "conv_1x1_exp", "conv_1x1_exp", Encoder(input), _config.NeckHiddenSizes[6], 1);
        var shape = Shape(x);
        var pooledShape = new Shape(shape.Channels, 1, 1);
        if (pooled < 0) pooled = NewValue(pooledShape, "pooled");
        else _values[pooled] = _values[pooled] with { Shape = pooledShape };
        AddStep(OpKind.GlobalAveragePool, $"global average pool: {shape} -> {shape.Channels}", "", WeightKind.None,
            Array.Empty<string>(), x, pooled, shape, pooledShape);
        FeatureValue = pooled;
        return pooled;
    }

    /// <summary>The classification head of both MobileViT versions: a linear layer from the pooled features into the output.</summary>
    private void ClassifierHead(int pooled, int output)
    {
        var shape = Shape(pooled);
        int labels = _config.Labels.Count;
        Require("classifier.weight", labels, shape.Channels);
        Require("classifier.bias", labels);
        AddStep(OpKind.Linear, $"classifier: linear {shape.Channels} -> {labels}", "classifier", WeightKind.Plain,
            new[] { "classifier.weight", "classifier.bias" }, pooled, output, Shape(pooled), Shape(output), macs: (long)labels * shape.Channels);
    }

    /// <summary>
    /// MobileViTModel's stem and five encoder stages. For segmentation (output_stride 16 or 8) the last stage
    /// (and for 8 the one before) keeps its input resolution: its downsampling block runs with stride 1.
    /// </summary>
    private int Encoder(int input)
    {
        var neck = _config.NeckHiddenSizes;
        var hidden = _config.HiddenSizes;
        int dilation4 = _config.OutputStride == 8 ? 2 : 1;
        int dilation5 = dilation4 * (_config.OutputStride <= 16 ? 2 : 1);
        int x = ConvLayer(_config.Prefix + "conv_stem", "conv_stem", input, neck[0], 3, stride: 2);
        x = MobileNetLayer(0, x, neck[1], stride: 1, blocks: 1);
        x = MobileNetLayer(1, x, neck[2], stride: 2, blocks: 3);
        x = MobileViTLayer(2, x, neck[3], hidden[0], transformerLayers: 2, dilation: 1);
        x = MobileViTLayer(3, x, neck[4], hidden[1], transformerLayers: 4, dilation: dilation4);
        return MobileViTLayer(4, x, neck[5], hidden[2], transformerLayers: 3, dilation: dilation5);
    }

    /// <summary>
    /// MobileViTForSemanticSegmentation: the encoder without the 1x1 expansion, then DeepLabV3: ASPP (a 1x1
    /// branch, three dilated 3x3 branches, a global-pool branch broadcast back), a 1x1 projection, a 1x1
    /// classifier with bias. The five branches write into one buffer, so their concat costs nothing.
    /// </summary>
    private void BuildSegmentation()
    {
        int input = NewValue(InputShape, "pixel_values");
        int output = NewValue(new Shape(0, 0, 0), "logits"); // value 1 by convention; its shape is known after the encoder
        int features = _config.IsV2 ? EncoderV2(input) : Encoder(input);
        var shape = Shape(features);
        int channels = _config.AsppOutChannels;
        var branch = new Shape(channels, shape.Height, shape.Width);
        _values[output] = _values[output] with { Shape = new Shape(_config.Labels.Count, shape.Height, shape.Width) };

        int pyramid = NewValue(new Shape(5 * channels, shape.Height, shape.Width), "aspp_pyramid");
        int Branch(int i) => NewView(pyramid, branch, $"aspp_branch{i}", i * branch.Length);
        const string Aspp = "segmentation_head.aspp";
        ConvLayer($"{Aspp}.convs.0", "aspp0", features, channels, 1, activation: "Relu", output: Branch(0));
        for (int i = 0; i < 3; i++)
            ConvLayer($"{Aspp}.convs.{i + 1}", $"aspp{i + 1}", features, channels, 3, dilation: _config.AtrousRates[i], activation: "Relu", output: Branch(i + 1));

        int pooled = NewValue(new Shape(shape.Channels, 1, 1), "aspp_pooled");
        AddStep(OpKind.GlobalAveragePool, $"{Aspp}.convs.4: global average pool {shape} -> {shape.Channels}", "", WeightKind.None,
            Array.Empty<string>(), features, pooled, shape, Shape(pooled));
        int pooledProjection = ConvLayer($"{Aspp}.convs.4.conv_1x1", "aspp4", pooled, channels, 1, activation: "Relu");
        AddStep(OpKind.ResizeBilinear, $"{Aspp}.convs.4: upsample 1x1 -> {shape.Height}x{shape.Width} (bilinear, a broadcast)", "", WeightKind.None,
            Array.Empty<string>(), pooledProjection, Branch(4), Shape(pooledProjection), branch);

        int projected = ConvLayer($"{Aspp}.project", "aspp_project", pyramid, channels, 1, activation: "Relu");
        ConvLayer("segmentation_head.classifier", "classifier", projected, _config.Labels.Count, 1, batchNorm: false,
            activation: "Identity", convBias: true, output: output);
    }

    /// <summary>MobileViTMobileNetLayer: a stack of inverted residual blocks.</summary>
    private int MobileNetLayer(int stage, int x, int outChannels, int stride, int blocks)
    {
        for (int i = 0; i < blocks; i++)
            x = InvertedResidual($"{_config.Prefix}encoder.layer.{stage}.layer.{i}", $"layer{stage}_{i}", x, outChannels, i == 0 ? stride : 1, output: -1);
        MarkStage(stage, x);
        return x;
    }

    /// <summary>MobileNetV2 block: 1x1 expand (BN, SiLU) -> 3x3 depthwise (BN, SiLU) -> 1x1 reduce (BN) [+ input].</summary>
    private int InvertedResidual(string module, string field, int x, int outChannels, int stride, int output, int dilation = 1)
    {
        var inShape = Shape(x);
        int expanded = MakeDivisible((int)Math.Round(inShape.Channels * _config.ExpandRatio, MidpointRounding.ToEven), 8);
        bool residual = stride == 1 && inShape.Channels == outChannels;
        int e = ConvLayer(module + ".expand_1x1", field + "_expand", x, expanded, 1);
        int d = ConvLayer(module + ".conv_3x3", field + "_depthwise", e, expanded, 3, stride, dilation: dilation, depthwise: true);
        return ConvLayer(module + ".reduce_1x1", field + "_reduce", d, outChannels, 1, activation: "Identity",
            residual: residual ? x : -1, output: output);
    }

    /// <summary>
    /// MobileViTLayer: downsampling inverted residual, local kxk conv, 1x1 to the transformer width, transformer
    /// layers over unfolded patches, final LayerNorm, fold, 1x1 projection back, fusion conv over concat(residual, x).
    /// </summary>
    private int MobileViTLayer(int stage, int x, int outChannels, int hiddenSize, int transformerLayers, int dilation)
    {
        string module = $"{_config.Prefix}encoder.layer.{stage}";
        string field = $"layer{stage}";
        var inShape = Shape(x);
        // A dilated stage keeps the resolution: its downsampling block runs with stride 1 (dilation / 2).
        int stride = dilation == 1 ? 2 : 1;
        int downDilation = dilation == 1 ? 1 : dilation / 2;
        int height = ConvOutputSize(inShape.Height, 3, stride, downDilation, downDilation);
        int width = ConvOutputSize(inShape.Width, 3, stride, downDilation, downDilation);
        var mapShape = new Shape(outChannels, height, width);

        // concat(residual, features) along channels is one buffer: the residual is its first half.
        int concat = NewValue(new Shape(2 * outChannels, height, width), $"{field}_concat");
        int residual = NewView(concat, mapShape, $"{field}_residual", 0);
        int projected = NewView(concat, mapShape, $"{field}_projected", mapShape.Length);

        InvertedResidual(module + ".downsampling_layer", field + "_down", x, outChannels, stride, residual, downDilation);
        int local = ConvLayer(module + ".conv_kxk", field + "_local", residual, outChannels, _config.ConvKernelSize);
        int tokens = ConvLayer(module + ".conv_1x1", field + "_to_tokens", local, hiddenSize, 1, batchNorm: false, activation: "Identity");

        // Unfolding needs a multiple of the patch size: the reference resizes the map up (bilinear) and back after folding.
        int patch = _config.PatchSize;
        int patchedHeight = (height + patch - 1) / patch * patch, patchedWidth = (width + patch - 1) / patch * patch;
        bool resize = patchedHeight != height || patchedWidth != width;
        if (resize)
            tokens = Resize(module, field + "_to_patch_multiple", tokens, patchedHeight, patchedWidth, "to the next multiple of patch_size before unfolding");

        for (int i = 0; i < transformerLayers; i++)
            TransformerLayer($"{module}.transformer.layer.{i}", $"{field}_transformer{i}", tokens);

        int normalized = LayerNormStep(module + ".layernorm", field + "_norm", tokens);
        if (resize)
            normalized = Resize(module, field + "_from_patch_multiple", normalized, height, width, "back to the feature map size after folding");
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
        AddStep(OpKind.PointwiseConv, $"{module}: query/key/value projection {c} -> 3x{c}, {shape.Pixels} tokens", field + "_qkv",
            WeightKind.QueryKeyValue, qkvTensors.ToArray(), normalized, qkv, shape, Shape(qkv), activation: "Identity", macs: 3L * c * c * shape.Pixels);

        int context = NewValue(shape, field + "_context");
        int tokens = shape.Pixels / (patch * patch);
        int headDim = c / _config.NumAttentionHeads;
        AddStep(OpKind.PatchAttention,
            $"{module}: unfold {patch}x{patch} patches, {_config.NumAttentionHeads}-head attention over {tokens} patches x {patch * patch} offsets (head dim {headDim}), fold",
            "", WeightKind.None, Array.Empty<string>(), qkv, context, Shape(qkv), shape, heads: _config.NumAttentionHeads, patchSize: patch,
            macs: 2L * tokens * tokens * c * patch * patch);

        Linear(module + ".attention.output.dense", field + "_attn_out", context, c, "Identity", residual: x, output: x, what: "attention output");
        int normalized2 = LayerNormStep(module + ".layernorm_after", field + "_norm2", x);
        int hiddenValue = Linear(module + ".intermediate.dense", field + "_ffn1", normalized2, ffn, "Silu", residual: -1, output: -1, what: "feed-forward");
        Linear(module + ".output.dense", field + "_ffn2", hiddenValue, c, "Identity", residual: x, output: x, what: "feed-forward");
    }

    private int Resize(string module, string field, int x, int height, int width, string why)
    {
        var shape = Shape(x);
        int output = NewValue(new Shape(shape.Channels, height, width), field);
        AddStep(OpKind.ResizeBilinear, $"{module}: resize {shape} -> {Shape(output)} (bilinear, half-pixel) {why}", "", WeightKind.None,
            Array.Empty<string>(), x, output, shape, Shape(output));
        return output;
    }

    private int Linear(string module, string field, int x, int outFeatures, string activation, int residual, int output, string what)
    {
        var shape = Shape(x);
        Require(module + ".weight", outFeatures, shape.Channels);
        Require(module + ".bias", outFeatures);
        if (output < 0) output = NewValue(new Shape(outFeatures, shape.Height, shape.Width), field);
        string act = activation == "Silu" ? ", SiLU" : "";
        string add = residual >= 0 ? ", + residual (in place)" : "";
        AddStep(OpKind.PointwiseConv, $"{module}: {what} linear {shape.Channels} -> {outFeatures}{act}{add}, {shape.Pixels} tokens", field,
            WeightKind.Plain, new[] { module + ".weight", module + ".bias" }, x, output, shape, Shape(output), activation: activation, residual: residual,
            macs: (long)outFeatures * shape.Channels * shape.Pixels);
        return output;
    }

    private int LayerNormStep(string module, string field, int x)
        => NormStep(OpKind.LayerNorm, module, field, x, $"LayerNorm over {Shape(x).Channels} channels, {Shape(x).Pixels} tokens");

    /// <summary>A normalization with a per-channel weight and bias (LayerNorm over channels, or MobileViTV2's single-group GroupNorm).</summary>
    private int NormStep(OpKind kind, string module, string field, int x, string what)
    {
        var shape = Shape(x);
        Require(module + ".weight", shape.Channels);
        Require(module + ".bias", shape.Channels);
        int output = NewValue(shape, field);
        AddStep(kind, $"{module}: {what}", field, WeightKind.Norm,
            new[] { module + ".weight", module + ".bias" }, x, output, shape, shape, epsilon: _config.LayerNormEps);
        return output;
    }

    /// <summary>MobileViTConvLayer: convolution [+ bias] [+ BatchNorm folded] [+ SiLU or ReLU] [+ residual], "same" padding.</summary>
    private int ConvLayer(string module, string field, int x, int outChannels, int kernelSize, int stride = 1, int dilation = 1,
        bool depthwise = false, bool batchNorm = true, string activation = "Silu", bool convBias = false, int residual = -1, int output = -1)
    {
        var inShape = Shape(x);
        int padding = (kernelSize - 1) / 2 * dilation;
        var outShape = new Shape(outChannels,
            ConvOutputSize(inShape.Height, kernelSize, stride, padding, dilation),
            ConvOutputSize(inShape.Width, kernelSize, stride, padding, dilation));
        if (output < 0) output = NewValue(outShape, field);

        int inPerGroup = depthwise ? 1 : inShape.Channels;
        Require(module + ".convolution.weight", outChannels, inPerGroup, kernelSize, kernelSize);
        var tensors = new List<string> { module + ".convolution.weight" };
        if (convBias)
        {
            Require(module + ".convolution.bias", outChannels);
            tensors.Add(module + ".convolution.bias");
        }
        if (batchNorm)
            foreach (var part in new[] { "weight", "bias", "running_mean", "running_var" })
            {
                Require($"{module}.normalization.{part}", outChannels);
                tensors.Add($"{module}.normalization.{part}");
            }

        bool winograd = !depthwise && UsesWinograd(kernelSize, stride, dilation, inShape.Channels, outChannels, outShape);
        OpKind kind = depthwise ? OpKind.DepthwiseConv2D : kernelSize == 1 && stride == 1 ? OpKind.PointwiseConv
            : winograd ? OpKind.WinogradConv2D : OpKind.Conv2D;
        string strideText = stride > 1 ? " s" + stride.ToString(CultureInfo.InvariantCulture) : "";
        string dilationText = dilation > 1 ? " dilation " + dilation.ToString(CultureInfo.InvariantCulture) : "";
        string what = depthwise ? $"depthwise conv {kernelSize}x{kernelSize}{strideText}{dilationText} {outChannels}ch"
            : $"conv {kernelSize}x{kernelSize}{strideText}{dilationText} {inShape.Channels}->{outChannels}";
        string activationText = activation == "Silu" ? ", SiLU" : activation == "Relu" ? ", ReLU" : "";
        string comment = $"{module}: {what}{(winograd ? " (Winograd F(2x2, 3x3))" : "")}{(convBias ? " + bias" : "")}{(batchNorm ? ", BN folded" : "")}{activationText}{(residual >= 0 ? ", + residual" : "")}: {inShape} -> {outShape}";
        AddStep(kind, comment, field, batchNorm ? WeightKind.ConvBatchNorm : WeightKind.Plain, tensors.ToArray(), x, output, inShape, outShape,
            kernelSize, stride, padding, dilation, activation, residual: residual, macs: (long)outShape.Length * inPerGroup * kernelSize * kernelSize);
        return output;
    }

    /// <summary>
    /// Dense stride-1, undilated 3x3 convolutions (the MobileViT block's local and fusion convolutions) run as Winograd
    /// F(2x2, 3x3): 2.25x fewer multiplications, measured 1.6-1.85x faster than the direct GEMM at 96-320 channels.
    /// It needs a vector of 2x2 tiles: on 4x4 and 2x2 maps (the Fashion-MNIST model's last stages) it was slower than
    /// the direct kernels, so maps of fewer than 16 tiles keep them, as do fewer than 16 channels either way, where
    /// the transforms are a large share of the work (none of the published models has such a layer).
    /// </summary>
    internal static bool UsesWinograd(int kernelSize, int stride, int dilation, int inChannels, int outChannels, Shape outShape)
        => kernelSize == 3 && stride == 1 && dilation == 1 && inChannels >= 16 && outChannels >= 16
            && (outShape.Height + 1) / 2 * ((outShape.Width + 1) / 2) >= 16;

    private void AddStep(OpKind kind, string comment, string field, WeightKind weights, string[] tensors, int input, int output,
        Shape inShape, Shape outShape, int kernelSize = 1, int stride = 1, int padding = 0, int dilation = 1,
        string activation = "Identity", int residual = -1, int heads = 0, int patchSize = 0, double epsilon = 0, long macs = 0)
    {
        _macs += macs;
        _steps.Add(new LayerStep(_steps.Count, kind, comment, field, weights, tensors.ToEquatableArray(), input, residual, output,
            inShape, outShape, kernelSize, stride, padding, dilation, activation, heads, patchSize, epsilon, macs));
    }

    private void MarkStage(int stage, int value) => _stages.Add(new StageOutput(_steps.Count - 1, stage, value));

    private void Require(string name, params long[] shape) => _tensors.Add(new TensorSpec(name, shape.ToEquatableArray()));

    private Shape Shape(int value) => _values[value].Shape;

    private int NewValue(Shape shape, string name)
    {
        _values.Add(new ValueInfo(_values.Count, shape, name, -1, 0));
        return _values.Count - 1;
    }

    private int NewView(int parent, Shape shape, string name, long offset)
    {
        _values.Add(new ValueInfo(_values.Count, shape, name, parent, offset));
        return _values.Count - 1;
    }

    public static int ConvOutputSize(int size, int kernel, int stride, int padding, int dilation)
        => (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>Hugging Face's make_divisible (from the TensorFlow MobileNet code): round to a multiple of 8, never 10 % below.</summary>
    public static int MakeDivisible(double value, int divisor, int? minValue = null)
    {
        int result = Math.Max(minValue ?? divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        if (result < 0.9 * value) result += divisor;
        return result;
    }
}

/// <summary>A config whose shapes the compiler cannot lower yet; reported as a diagnostic.</summary>
internal sealed class UnsupportedShapeException : Exception
{
    public UnsupportedShapeException(string message) : base(message) { }
}
