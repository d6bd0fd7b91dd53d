using System;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// MobileViTV2 (Hugging Face MobileViTV2Model): channel counts from width_multiplier, a depthwise local conv,
/// transformer layers with single-group GroupNorm and separable self-attention, no fusion conv.
/// </summary>
internal sealed partial class NetworkBuilder
{

    private int EncoderV2(int input)
    {
        double width = _config.WidthMultiplier;
        int layer0 = MakeDivisible(Math.Max(16, Math.Min(64, 32 * width)), 8, 16);
        int layer1 = MakeDivisible(64 * width, 16);
        int layer2 = MakeDivisible(128 * width, 8);
        int layer3 = MakeDivisible(256 * width, 8);
        int layer4 = MakeDivisible(384 * width, 8);
        int layer5 = MakeDivisible(512 * width, 8);
        int AttentionDim(int i) => MakeDivisible(_config.BaseAttentionDims[i] * width, 8);
        int dilation4 = _config.OutputStride == 8 ? 2 : 1;
        int dilation5 = dilation4 * (_config.OutputStride <= 16 ? 2 : 1);

        int x = ConvLayer(_config.Prefix + "conv_stem", "conv_stem", input, layer0, 3, stride: 2);
        x = MobileNetLayer(0, x, layer1, stride: 1, blocks: 1);
        x = MobileNetLayer(1, x, layer2, stride: 2, blocks: 2);
        x = MobileViTV2Layer(2, x, layer3, AttentionDim(0), _config.AttentionBlocks[0], dilation: 1);
        x = MobileViTV2Layer(3, x, layer4, AttentionDim(1), _config.AttentionBlocks[1], dilation: dilation4);
        return MobileViTV2Layer(4, x, layer5, AttentionDim(2), _config.AttentionBlocks[2], dilation: dilation5);
    }

    /// <summary>
    /// MobileViTV2Layer: downsampling inverted residual, depthwise kxk conv (BN, SiLU), 1x1 to the attention width,
    /// transformer layers over the unfolded patches, GroupNorm, fold, 1x1 projection with BN and no activation.
    /// </summary>
    private int MobileViTV2Layer(int stage, int x, int outChannels, int attentionDim, int blocks, int dilation)
    {
        string module = $"{_config.Prefix}encoder.layer.{stage}";
        string field = $"layer{stage}";
        int stride = dilation == 1 ? 2 : 1;
        int downDilation = dilation == 1 ? 1 : dilation / 2;
        int down = InvertedResidual(module + ".downsampling_layer", field + "_down", x, outChannels, stride, output: -1, dilation: downDilation);
        int local = ConvLayer(module + ".conv_kxk", field + "_local", down, outChannels, _config.ConvKernelSize, depthwise: true);
        int tokens = ConvLayer(module + ".conv_1x1", field + "_to_tokens", local, attentionDim, 1, batchNorm: false, activation: "Identity");

        // torch's unfold drops the rows and columns that do not fill a patch, and fold writes zeros there.
        var shape = Shape(tokens);
        int patch = _config.PatchSize;
        int coveredHeight = shape.Height / patch * patch, coveredWidth = shape.Width / patch * patch;
        if (coveredHeight == 0 || coveredWidth == 0)
            throw new UnsupportedShapeException(
                $"the {shape.Height}x{shape.Width} feature map at {module} is smaller than patch_size {patch}: the reference unfolds it into no patches at all");
        bool crop = coveredHeight != shape.Height || coveredWidth != shape.Width;
        if (crop)
        {
            int cropped = NewValue(new Shape(shape.Channels, coveredHeight, coveredWidth), field + "_unfolded");
            AddStep(OpKind.Crop, $"{module}: unfold drops what does not fill a patch: {shape} -> {Shape(cropped)}", "", WeightKind.None,
                Array.Empty<string>(), tokens, cropped, shape, Shape(cropped));
            tokens = cropped;
        }

        for (int i = 0; i < blocks; i++)
            TransformerLayerV2($"{module}.transformer.layer.{i}", $"{field}_transformer{i}", tokens);
        int normalized = GroupNormStep(module + ".layernorm", field + "_norm", tokens);
        if (crop)
        {
            int folded = NewValue(shape, field + "_folded");
            AddStep(OpKind.Pad, $"{module}: fold writes zeros where no patch was: {Shape(normalized)} -> {shape}", "", WeightKind.None,
                Array.Empty<string>(), normalized, folded, Shape(normalized), shape);
            normalized = folded;
        }
        int projected = ConvLayer(module + ".conv_projection", field + "_projection", normalized, outChannels, 1, activation: "Identity");
        MarkStage(stage, projected);
        return projected;
    }

    /// <summary>Pre-norm layer: x += out_proj(separable_attention(qkv_proj(GroupNorm(x)))); x += conv2(SiLU(conv1(GroupNorm(x)))).</summary>
    private void TransformerLayerV2(string module, string field, int x)
    {
        var shape = Shape(x);
        int c = shape.Channels;
        int ffn = (int)(_config.FfnMultiplier * c) / 16 * 16;
        int patch = _config.PatchSize;

        int normalized = GroupNormStep(module + ".layernorm_before", field + "_norm1", x);
        int qkv = ConvLayer(module + ".attention.qkv_proj", field + "_qkv", normalized, 1 + 2 * c, 1, batchNorm: false, activation: "Identity", convBias: true);
        int context = NewValue(shape, field + "_context");
        int tokens = shape.Pixels / (patch * patch);
        AddStep(OpKind.SeparableAttention,
            $"{module}: unfold {patch}x{patch} patches, separable self-attention over {tokens} patches x {patch * patch} offsets, fold",
            "", WeightKind.None, Array.Empty<string>(), qkv, context, Shape(qkv), shape, patchSize: patch, macs: 2L * shape.Pixels * c);
        ConvLayer(module + ".attention.out_proj", field + "_attn_out", context, c, 1, batchNorm: false, activation: "Identity", convBias: true, residual: x, output: x);

        int normalized2 = GroupNormStep(module + ".layernorm_after", field + "_norm2", x);
        int hidden = ConvLayer(module + ".ffn.conv1", field + "_ffn1", normalized2, ffn, 1, batchNorm: false, activation: "Silu", convBias: true);
        ConvLayer(module + ".ffn.conv2", field + "_ffn2", hidden, c, 1, batchNorm: false, activation: "Identity", convBias: true, residual: x, output: x);
    }

    private int GroupNormStep(string module, string field, int x)
        => NormStep(OpKind.GroupNorm, module, field, x, $"GroupNorm (1 group) over {Shape(x)}");
}
