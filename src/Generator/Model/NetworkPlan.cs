using System.Linq;
using MobileViT.Compiled.Generator.Helpers;

namespace MobileViT.Compiled.Generator.Model;

/// <summary>The kernels a layer step can call (each maps to one runtime kernel class).</summary>
internal enum OpKind
{
    Conv2D,
    /// <summary>A stride-1, undilated 3x3 convolution by Winograd F(2x2, 3x3) (runtime WinogradConv2D).</summary>
    WinogradConv2D,
    DepthwiseConv2D,
    PointwiseConv,
    LayerNorm,
    PatchAttention,
    GlobalAveragePool,
    Linear,
    ResizeBilinear,
    GroupNorm,
    SeparableAttention,
    Crop,
    Pad,
}

/// <summary>How a step's weights are prepared once at load time.</summary>
internal enum WeightKind
{
    /// <summary>No weights.</summary>
    None,
    /// <summary>A convolution followed by BatchNorm: folded into weight and bias.</summary>
    ConvBatchNorm,
    /// <summary>A convolution or linear layer with its own bias (or none: zeros).</summary>
    Plain,
    /// <summary>Query, key and value linear layers concatenated into one [3C, C] projection.</summary>
    QueryKeyValue,
    /// <summary>LayerNorm gamma and beta.</summary>
    Norm,
}

/// <summary>A feature map shape, channel-major, batch 1.</summary>
internal sealed record Shape(int Channels, int Height, int Width)
{
    public int Pixels => Height * Width;
    public long Length => (long)Channels * Height * Width;
    public override string ToString() => $"{Channels}x{Height}x{Width}";
}

/// <summary>
/// A tensor value between steps. Value 0 is the caller's input, value 1 the caller's output; the rest live in the
/// activation arena. A value with a parent is a view at <see cref="ParentOffset"/> floats into the parent
/// (how the fusion conv's channel concat costs nothing).
/// </summary>
internal sealed record ValueInfo(int Id, Shape Shape, string Name, int Parent, long ParentOffset)
{
    public const int Input = 0;
    public const int Output = 1;
}

/// <summary>One tensor the architecture needs from the weights file.</summary>
internal sealed record TensorSpec(string Name, EquatableArray<long> Shape);

/// <summary>One kernel call of the generated Run method, with every dimension fixed.</summary>
/// <param name="ObserverOnly">
/// The call runs only when a stage observer is attached: its output is a stage output that no later step reads any
/// more (<see cref="Lowering.PointwiseMerge"/> multiplied it into the next 1x1).
/// </param>
/// <param name="Int8">A 1x1 convolution computed in int8 (<see cref="Lowering.Quantization"/>).</param>
/// <param name="MergedFirst">
/// A linear 1x1 convolution whose weights this 1x1 multiplies into its own at load time
/// (<see cref="Lowering.PointwiseMerge"/>); the step reads that convolution's input.
/// </param>
internal sealed record LayerStep(
    int Index,
    OpKind Kind,
    string Comment,
    string Field,
    WeightKind Weights,
    EquatableArray<string> Tensors,
    int Input,
    int Residual,
    int Output,
    Shape InShape,
    Shape OutShape,
    int KernelSize,
    int Stride,
    int Padding,
    int Dilation,
    string Activation,
    int Heads,
    int PatchSize,
    double Epsilon,
    long MultiplyAccumulates,
    EquatableArray<string> NormTensors = default,
    OpKind NormKind = OpKind.LayerNorm,
    bool ObserverOnly = false,
    LayerStep? MergedFirst = null,
    bool Int8 = false)
{
    /// <summary>
    /// True for a 1x1 convolution whose input is normalized first (<see cref="NormKind"/>: LayerNorm over channels or
    /// single-group GroupNorm; gamma, beta in <see cref="NormTensors"/>, eps in Epsilon).
    /// </summary>
    public bool NormalizesInput => NormTensors.Count > 0;
}

/// <summary>The output of an encoder stage, reported to a stage observer (for debugging against hidden_states).</summary>
internal sealed record StageOutput(int AfterStep, int Stage, int Value);

/// <summary>The lowered network: steps, values with their arena offsets, scratch size, tensors needed.</summary>
/// <param name="FeatureValue">The pooled features (RunFeatures' output; <see cref="ValueInfo.Output"/> for a headless backbone), or -1 (segmentation).</param>
internal sealed record NetworkPlan(
    EquatableArray<LayerStep> Steps,
    EquatableArray<ValueInfo> Values,
    EquatableArray<int> Offsets,
    int ArenaLength,
    int ScratchLength,
    EquatableArray<TensorSpec> Tensors,
    EquatableArray<StageOutput> Stages,
    Shape InputShape,
    Shape OutputShape,
    long MultiplyAccumulates,
    int FeatureValue)
{
    public bool HasFeatures => FeatureValue >= 0;

    /// <summary>A backbone alone: RunFeatures and no Run.</summary>
    public bool IsHeadless => FeatureValue == ValueInfo.Output;

    /// <summary>The index of the step that writes the features (the global average pool), or -1.</summary>
    public int FeatureStep => HasFeatures ? Steps.First(s => s.Output == FeatureValue).Index : -1;
}
