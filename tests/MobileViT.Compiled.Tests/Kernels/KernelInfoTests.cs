using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels;
using Xunit.Abstractions;

namespace MobileViT.Compiled.Tests.Kernels;

public class KernelInfoTests(ITestOutputHelper output)
{
    /// <summary>Every kernel a MobileViT, MobileViTV2 or DeepLabV3 model runs.</summary>
    private static readonly string[] ModelKernels =
    {
        "pointwise GEMM microkernel", "tiny-N GEMM (1-4 pixels)", "direct conv (stem)", "row conv 3x3", "padded conv 3x3",
        "Winograd F(2x2, 3x3)", "im2col packing", "depthwise (general)", "depthwise rows3x3", "patch attention",
        "patch attention interleave", "separable attention", "LayerNorm", "GroupNorm", "linear", "activations (SiLU/exp)",
        "global average pool", "bilinear resize", "crop/pad",
        // The int8 convolutions (Precision="int8"): the GEMM, the quantize step and the k x k unfolding.
        "int8 GEMM", "int8 activation quantize", "int8 conv unfold",
    };

    [Fact]
    public void ListsEveryModelKernelOnceWithAKnownPath()
    {
        var paths = KernelInfo.Paths;
        Assert.Equal(ModelKernels, paths.Select(p => p.Kernel));
        foreach (var p in paths)
        {
            Assert.Contains(p.Path, new[] { "Vector512", "Vector256", "Vector128", "Scalar" });
            Assert.False(string.IsNullOrWhiteSpace(p.Detail), p.Kernel);
        }
    }

    [Fact]
    public void GenericKernelsReportTheWidestPath()
    {
        // These run their generic body on KernelIsa.Best: the report must say the same.
        foreach (var name in new[] { "pointwise GEMM microkernel", "direct conv (stem)", "depthwise (general)", "patch attention", "LayerNorm", "linear" })
            Assert.Equal(KernelIsa.Best.ToString(), KernelInfo.Paths.Single(p => p.Kernel == name).Path);
    }

    [Fact]
    public void DescribeShowsArchitectureFlagsAndEveryKernel()
    {
        string text = KernelInfo.Describe();
        output.WriteLine(text);
        Assert.Contains(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), text);
        foreach (var flag in new[] { "Avx512F=", "Avx2=", "Fma=", "Avx=", "Sse41=", "AdvSimd=", "AdvSimd.Arm64=", "Dp=", "AvxVnni=", "Avx512BW=" })
            Assert.Contains(flag, text);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var p in KernelInfo.Paths)
            Assert.Single(lines, l => l.StartsWith(p.Kernel + " ", StringComparison.Ordinal) && l.Contains(p.Path) && l.Contains(p.Detail));
    }

    [Fact]
    public void InterleaveAndTinyNFollowTheirKernelsSelectors()
    {
        var byName = KernelInfo.Paths.ToDictionary(p => p.Kernel);
        var interleave = TokenInterleave.Best < KernelIsa.Best ? TokenInterleave.Best : KernelIsa.Best;
        Assert.Equal(interleave.ToString(), byName["patch attention interleave"].Path);
        Assert.Equal(GroupNorm.Tier.ToString(), byName["GroupNorm"].Path);
        bool tiny = Gemm.TinyNApplies(KernelIsa.Lanes(KernelIsa.Best));
        Assert.Equal(tiny ? "Vector256" : KernelIsa.Best.ToString(), byName["tiny-N GEMM (1-4 pixels)"].Path);
        Assert.Equal(DepthwiseRows3x3.Available(KernelIsa.Best) ? "Vector512" : KernelIsa.Best.ToString(), byName["depthwise rows3x3"].Path);
    }

    [Fact]
    public void Int8GemmFollowsItsSelector()
    {
        var byName = KernelInfo.Paths.ToDictionary(p => p.Kernel);
        var path = QuantizedGemm.PathFor(KernelIsa.Best);
        Assert.Equal(QuantizedGemm.Best, path);
        Assert.Equal(QuantizedGemm.Tier(path).ToString(), byName["int8 GEMM"].Path);
        Assert.True(QuantizedGemm.IsSupported(path));
        // AVX-VNNI wherever it exists (and the vectors are at least 256 bits), else the widest multiply-add path.
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && KernelIsa.Best >= Isa.Vector256)
            Assert.Equal(QuantizedGemmPath.AvxVnni256, path);
        Assert.Contains(path.ToString() switch { "AvxVnni256" or "AvxVnni128" => "vpdpbusd", "ArmDot" => "sdot", "Scalar" => "scalar", _ => "" },
            byName["int8 GEMM"].Detail);
        // Never wider than the machine's widest path, also as a NEON / SSE machine sees it.
        Assert.Equal(Isa.Vector128, QuantizedGemm.Tier(QuantizedGemm.PathFor(Isa.Vector128)));
    }

    [Fact]
    public void NoKernelRunsScalarWhereVector128IsAccelerated()
    {
        // Also run under DOTNET_EnableAVX512=0 and DOTNET_EnableAVX=0 (the Vector256 and Vector128-only x64 machines).
        Assert.True(Vector128.IsHardwareAccelerated, "every supported target (x64, ARM64) accelerates Vector128");
        Assert.Empty(KernelInfo.Paths.Where(p => p.Path == "Scalar").Select(p => p.Kernel));
        // And as a NEON machine sees it: the widest path Vector128.
        Assert.Empty(KernelInfo.Collect(Isa.Vector128).Where(p => p.Path == "Scalar").Select(p => p.Kernel));
    }
}
