namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Our compiled model and ONNX Runtime on the same weights, input and thread count, checked to give the same answer
/// (within 1e-3 of the largest logit) before anything is timed.
/// </summary>
internal sealed class ModelPair : IDisposable
{
    private readonly float[] _input;
    private readonly float[] _output;
    private readonly OnnxRuntimeModel _peer;

    public ModelPair(string model, int threads)
    {
        Ours = ModelCatalog.Create(model, threads);
        _input = ModelCatalog.Input(model);
        _output = new float[Ours.OutputLength];
        var peerOutput = new float[Ours.OutputLength];
        _peer = new OnnxRuntimeModel(ModelCatalog.OnnxPath(model), _input, peerOutput,
            [1, Ours.InputChannels, Ours.InputHeight, Ours.InputWidth], ModelCatalog.OutputShape(Ours), threads);
        RunOurs();
        RunPeer();
        float maxError = 0, maxReference = 0;
        for (int i = 0; i < _output.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(_output[i] - peerOutput[i]));
            maxReference = Math.Max(maxReference, Math.Abs(peerOutput[i]));
        }
        if (!(maxError <= 1e-3f * Math.Max(1f, maxReference)))
            throw new InvalidOperationException($"{model}: ours and ONNX Runtime disagree by {maxError}");
    }

    public ICompiledModel Ours { get; }

    public void RunOurs() => Ours.Run(_input, _output);

    public void RunPeer() => _peer.Run();

    public void Dispose()
    {
        Ours.Dispose();
        _peer.Dispose();
    }
}
