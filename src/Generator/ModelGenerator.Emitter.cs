using MobileViT.Compiled.Generator.Emit;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator;

public sealed partial class ModelGenerator
{
    /// <summary>Stage 3: plan -> C# source.</summary>
    internal static string Emit(ModelSpec spec, NetworkPlan plan) => ModelEmitter.Emit(spec, plan);
}
