using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>After a pass removed steps: the kept ones numbered 0, 1, ... in order, and the stages moved along.</summary>
internal static class StepRenumbering
{
    /// <param name="kept">The steps that stay, in order, still carrying their old indices.</param>
    /// <param name="stages">Stages by old step index; a stage's step is never one that was removed.</param>
    public static (List<LayerStep> Steps, List<StageOutput> Stages) Renumber(IEnumerable<LayerStep> kept, IEnumerable<StageOutput> stages)
    {
        var newIndex = new Dictionary<int, int>();
        var steps = new List<LayerStep>();
        foreach (var step in kept)
        {
            newIndex[step.Index] = steps.Count;
            steps.Add(step with { Index = steps.Count });
        }
        return (steps, stages.Select(st => st with { AfterStep = newIndex[st.AfterStep] }).ToList());
    }
}
