using System.Linq;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Emit;

/// <summary>
/// The run methods. A segmentation model's Run holds every kernel call. A model with pooled features has a private
/// RunBackbone (the calls up to the global average pool, which writes into its features argument): RunFeatures hands
/// it the caller's span; a classifier's Run hands it the pooled slice of the arena, then runs the head.
/// </summary>
internal static partial class ModelEmitter
{
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string FloatSpan = "global::System.Span<float>";
    private const string Observer = "global::MobileViT.Compiled.StageObserver?";
    private const string Timestamps = "global::System.Span<long>";

    /// <summary>Run with every kernel call inline (a model without pooled features: segmentation).</summary>
    private static void EmitRun(SourceWriter w, string name, NetworkPlan plan)
    {
        EmitRunOverloads(w);
        OpenGuardedRun(w, name, plan, "Run", "output", "OutputLength", profile: true);
        EmitSteps(w, plan, plan.Steps, backbone: false);
        CloseGuardedRun(w);
    }

    /// <summary>Run of a classifier: the backbone into the arena's pooled slice, then the head.</summary>
    private static void EmitRunWithHead(SourceWriter w, string name, NetworkPlan plan)
    {
        EmitRunOverloads(w);
        OpenGuardedRun(w, name, plan, "Run", "output", "OutputLength", profile: true);
        var pooled = plan.Values[plan.FeatureValue].Shape;
        w.Line($"// [0..{plan.FeatureStep}] the backbone, up to the pooled features ({pooled.Channels} floats)");
        w.Line($"RunBackbone(pixelValues, {Span(plan.FeatureValue, plan, backbone: false)}, arena, scratch, observer, stepTimestamps);");
        EmitSteps(w, plan, plan.Steps.Where(s => s.Index > plan.FeatureStep), backbone: false);
        CloseGuardedRun(w);
    }

    private static void EmitRunOverloads(SourceWriter w)
    {
        w.Line("/// <summary>Runs the model on one image.</summary>");
        w.Line("/// <param name=\"pixelValues\">NCHW float32, batch 1: exactly the reference implementation's pixel_values (InputLength floats).</param>");
        w.Line("/// <param name=\"output\">Receives OutputLength logits.</param>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A span has the wrong length.</exception>");
        w.Line($"public void Run({ReadOnlySpan} pixelValues, {FloatSpan} output) => Run(pixelValues, output, null);");
        w.Line();
        w.Line("/// <summary>Runs the model and reports each encoder stage's output to <paramref name=\"observer\"/>.</summary>");
        w.Line($"public void Run({ReadOnlySpan} pixelValues, {FloatSpan} output, {Observer} observer) => Run(pixelValues, output, observer, default);");
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Runs the model; with a non-empty <paramref name=\"stepTimestamps\"/> (LayerCount + 1 entries) records");
        w.Line("/// Stopwatch.GetTimestamp() before the first kernel call and after each one: the per-layer profile.");
        w.Line("/// </summary>");
    }

    /// <summary>RunFeatures: the backbone into the caller's span.</summary>
    private static void EmitRunFeatures(SourceWriter w, string name, NetworkPlan plan)
    {
        w.Line("/// <summary>Image features (an embedding): the global average pool of the last feature map, Hugging Face's pooler_output.</summary>");
        w.Line("/// <param name=\"pixelValues\">NCHW float32, batch 1: exactly the reference implementation's pixel_values (InputLength floats).</param>");
        w.Line("/// <param name=\"features\">Receives FeatureLength floats.</param>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A span has the wrong length.</exception>");
        w.Line($"public void RunFeatures({ReadOnlySpan} pixelValues, {FloatSpan} features) => RunFeatures(pixelValues, features, null);");
        w.Line();
        w.Line("/// <summary>Image features, reporting each encoder stage's output to <paramref name=\"observer\"/>.</summary>");
        OpenGuardedRun(w, name, plan, "RunFeatures", "features", "FeatureLength", profile: false);
        w.Line("RunBackbone(pixelValues, features, arena, scratch, observer, default);");
        CloseGuardedRun(w);
    }

    /// <summary>The kernel calls up to the pool; the caller holds the busy flag.</summary>
    private static void EmitBackbone(SourceWriter w, NetworkPlan plan)
    {
        w.Line("/// <summary>The backbone: every kernel call up to the global average pool, which writes <paramref name=\"features\"/>.</summary>");
        w.Open($"private void RunBackbone({ReadOnlySpan} pixelValues, {FloatSpan} features, {FloatSpan} arena, {FloatSpan} scratch, {Observer} observer, {Timestamps} stepTimestamps)");
        w.Line("bool profile = !stepTimestamps.IsEmpty;");
        EmitSteps(w, plan, plan.Steps.Where(s => s.Index <= plan.FeatureStep), backbone: true);
        w.Close();
        w.Line();
    }

    /// <summary>
    /// The method's head: argument checks, the busy flag (one thread at a time: a second caller of Run or RunFeatures
    /// gets InvalidOperationException), the aligned arena and scratch; the body follows inside try.
    /// </summary>
    private static void OpenGuardedRun(SourceWriter w, string name, NetworkPlan plan, string method, string outputName, string outputLength, bool profile)
    {
        string parameters = $"{ReadOnlySpan} pixelValues, {FloatSpan} {outputName}, {Observer} observer" + (profile ? $", {Timestamps} stepTimestamps" : "");
        w.Open($"public void {method}({parameters})");
        w.Line("if (pixelValues.Length != InputLength) throw new global::System.ArgumentException($\"pixelValues has {pixelValues.Length} floats; the model takes {InputLength} (1x{InputChannels}x{InputHeight}x{InputWidth}).\", nameof(pixelValues));");
        w.Line($"if ({outputName}.Length != {outputLength}) throw new global::System.ArgumentException($\"{outputName} has {{{outputName}.Length}} floats; the model writes {{{outputLength}}}.\", nameof({outputName}));");
        if (profile)
            w.Line("if (!stepTimestamps.IsEmpty && stepTimestamps.Length < LayerCount + 1) throw new global::System.ArgumentException($\"stepTimestamps needs {LayerCount + 1} entries.\", nameof(stepTimestamps));");
        w.Line($"global::System.ObjectDisposedException.ThrowIf(_disposed, this);");
        w.Line($"if (global::System.Threading.Interlocked.Exchange(ref _busy, 1) != 0)");
        w.Line($"    throw new global::System.InvalidOperationException(\"{name}.{method} was called while the instance runs on another thread: one instance serves one thread at a time; create one instance per thread.\");");
        w.Open("try");
        w.Line("global::System.Span<float> arena = _arena.Span;");
        w.Line("global::System.Span<float> scratch = _scratch.Span;");
        if (profile)
        {
            w.Line("bool profile = !stepTimestamps.IsEmpty;");
            w.Line("if (profile) stepTimestamps[0] = global::System.Diagnostics.Stopwatch.GetTimestamp();");
        }
    }

    private static void CloseGuardedRun(SourceWriter w)
    {
        w.Close();
        w.Open("finally");
        w.Line("global::System.Threading.Volatile.Write(ref _busy, 0);");
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>One commented kernel call per step, its profile timestamp, and the stage outputs it completes.</summary>
    private static void EmitSteps(SourceWriter w, NetworkPlan plan, System.Collections.Generic.IEnumerable<LayerStep> steps, bool backbone)
    {
        foreach (var step in steps)
        {
            w.Line($"// [{step.Index}] {step.Comment}");
            w.Line(step.ObserverOnly ? $"if (observer is not null) {Call(step, plan, backbone)}" : Call(step, plan, backbone));
            w.Line($"if (profile) stepTimestamps[{step.Index + 1}] = global::System.Diagnostics.Stopwatch.GetTimestamp();");
            foreach (var stage in plan.Stages.Where(s => s.AfterStep == step.Index))
            {
                var shape = plan.Values[stage.Value].Shape;
                w.Line($"observer?.Invoke({stage.Stage}, {Span(stage.Value, plan, backbone)}, {shape.Channels}, {shape.Height}, {shape.Width});");
            }
        }
    }
}
