using Microsoft.ML.OnnxRuntime;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// The peer: ONNX Runtime on the fixture ONNX export of the same weights, ORT_ENABLE_ALL, with input and
/// output OrtValues allocated once over pinned managed arrays so a run allocates no tensors.
/// </summary>
internal sealed class OnnxRuntimeModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtValue _input;
    private readonly OrtValue _output;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames = ["pixel_values"];
    private readonly string[] _outputNames = ["logits"];

    public OnnxRuntimeModel(string onnxPath, float[] input, float[] output, long[] inputShape, long[] outputShape, int threads)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(onnxPath, options);
        _input = OrtValue.CreateTensorValueFromMemory(input, inputShape);
        _output = OrtValue.CreateTensorValueFromMemory(output, outputShape);
    }

    public void Run() => _session.Run(_runOptions, _inputNames, [_input], _outputNames, [_output]);

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
