using System.Diagnostics;
using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Benchmarks;

/// <summary>
/// Kernels at real MobileViT layer shapes, median of many calls, GFLOP/s (2 x MACs / time).
/// `dotnet run -c Release --project benchmarks/MobileViT.Compiled.Benchmarks -- kernels [threads] [rounds] [sweep] [only=text]`
/// Variants run interleaved (round robin), so machine noise hits them alike.
/// </summary>
internal static class KernelShapes
{
    private sealed record Case(string Name, long Macs, Action Run);

    /// <summary>A feature map buffer whose first float starts a 64-byte cache line.</summary>
    private sealed class Map(int length)
    {
        private readonly float[] _array = AlignedBuffer.Allocate(length);
        public Span<float> Span => AlignedBuffer.Align(_array, length);
    }

    public static void Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0]) : 1;
        using var pool = new WorkerPool(threads);
        var rng = new Random(1);
        float[] R(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        // Feature maps start on a cache line, as every value in a model's arena does (a float[] is only 8- or 16-byte
        // aligned: the hot 32->32 1x1 at 4096 px ran 92-94 GFLOP/s on those, 102 on aligned buffers).
        Map M(int n, bool random = true) { var m = new Map(n); if (random) { var span = m.Span; for (int i = 0; i < n; i++) span[i] = (float)(rng.NextDouble() * 2 - 1); } return m; }
        var cases = new List<Case>();
        void Pw<TAct>(string name, int cin, int cout, int px, bool residual = false) where TAct : struct, IActivation
        {
            var input = M(cin * px); var w = PointwiseConv.PackWeights(R(cin * cout), cin, cout); var b = R(cout);
            var o = M(cout * px, false); var res = residual ? M(cout * px) : null;
            cases.Add(new($"1x1 {cin}->{cout} {px}px {typeof(TAct).Name}{(residual ? " +res" : "")} {name}", (long)cin * cout * px,
                () => PointwiseConv.Run<TAct>(input.Span, w, b, o.Span, cin, cout, px, res is null ? default : res.Span, pool)));
        }
        void Dw(int c, int hw, int s)
        {
            var input = M(c * hw * hw); var w = R(c * 9); var b = R(c); int ohw = (hw - 1) / s + 1; var o = M(c * ohw * ohw, false);
            cases.Add(new($"dw3x3 {c}ch {hw}x{hw} s{s}", (long)c * 9 * ohw * ohw, () => DepthwiseConv2D.Run<Silu>(input.Span, w, b, o.Span, c, hw, hw, 3, s, 1, 1, pool)));
        }
        void Conv(int cin, int hw, int cout, int s)
        {
            int ohw = (hw - 1) / s + 1;
            var input = M(cin * hw * hw); var w = Conv2D.PackWeights(R(cout * cin * 9), cin, cout, 3); var b = R(cout);
            var o = M(cout * ohw * ohw, false); var scratch = M(Conv2D.ScratchLength(cin, 3, ohw, ohw), false);
            cases.Add(new($"conv3x3 {cin}->{cout} {hw}x{hw} s{s}", (long)cin * 9 * cout * ohw * ohw, () => Conv2D.Run<Silu>(input.Span, w, b, o.Span, cin, hw, hw, cout, 3, s, 1, 1, scratch.Span, pool)));
            if (s != 1) return;
            // The same layer by Winograd F(2x2, 3x3); GFLOP/s counts the direct convolution's multiply-adds (effective rate).
            var wino = WinogradConv2D.PackWeights(R(cout * cin * 9), cin, cout);
            var winoScratch = M(WinogradConv2D.ScratchLength(cin, hw, hw, 1), false);
            cases.Add(new($"conv3x3 {cin}->{cout} {hw}x{hw} s1 winograd", (long)cin * 9 * cout * ohw * ohw, () => WinogradConv2D.Run<Silu>(input.Span, wino, b, o.Span, cin, hw, hw, cout, 1, winoScratch.Span, pool)));
        }
        void Attn(int hidden, int hw)
        {
            int tokens = hw / 2 * (hw / 2), dim = hidden / 4;
            var qkv = M(3 * hidden * hw * hw); var o = M(hidden * hw * hw, false); var scratch = M(PatchAttention.ScratchLength(tokens, dim, 2, 2), false);
            cases.Add(new($"attention {hidden} {hw}x{hw}", 2L * 4 * 4 * tokens * tokens * dim, () => PatchAttention.Run(qkv.Span, o.Span, hidden, 4, hw, hw, 2, 2, scratch.Span, pool)));
        }
        void Ln(int c, int px)
        {
            var input = M(c * px); var g = R(c); var b = R(c); var o = M(c * px, false);
            cases.Add(new($"layernorm {c}x{px}", (long)c * px, () => LayerNorm.Channels(input.Span, g, b, o.Span, c, px, 1e-5f, pool)));
        }
        Pw<Silu>("(small L1.0 expand)", 32, 128, 16384);
        Pw<Identity>("(same, identity)", 32, 128, 16384);
        Pw<Silu>("(same, 16000px)", 32, 128, 16000);
        if (args.Contains("sweep")) // 1x1 efficiency over K x M at 4096 pixels: it falls with M (few weight panels per packed block)
        {
            foreach (int kk in new[] { 16, 32, 64, 128, 256 }) foreach (int mm in new[] { 32, 64, 128, 256 }) Pw<Identity>("sweep", kk, mm, 4096);
            foreach (int kk in new[] { 32, 256 }) foreach (int px in new[] { 4096, 4112, 4096 + 48 * 3 }) Pw<Identity>("stride", kk, 32, px);
            foreach (int kk in new[] { 32, 256 }) foreach (int mm in new[] { 32, 256 }) foreach (int al in new[] { 0, 4 })
            {
                int cin = kk, cout = mm, px = 4096;
                var inA = GC.AllocateArray<float>(cin * px + 64, pinned: true); var oA = GC.AllocateArray<float>(cout * px + 64, pinned: true);
                int Off(float[] a) { unsafe { fixed (float* p = a) { int mis = (int)((long)p & 63) / 4; return (16 - mis) % 16 + al; } } }
                int io = Off(inA), oo = Off(oA);
                for (int i = 0; i < inA.Length; i++) inA[i] = (float)(rng.NextDouble() * 2 - 1);
                var w = PointwiseConv.PackWeights(R(cin * cout), cin, cout); var b = R(cout);
                cases.Add(new($"1x1 {cin}->{cout} {px}px aligned+{al}", (long)cin * cout * px,
                    () => PointwiseConv.Run<Identity>(inA.AsSpan(io, cin * px), w, b, oA.AsSpan(oo, cout * px), cin, cout, px, default, pool)));
            }
            Pw<Silu>("(as conv 192->96 32x32 without im2col)", 1728, 96, 1024);
            Pw<Silu>("(as conv 320->160 8x8 without im2col)", 2880, 160, 64);
            Conv(192, 32, 96, 1); Conv(320, 8, 160, 1); Conv(96, 32, 48, 1); Conv(48, 32, 48, 1); Conv(128, 16, 64, 1); Conv(3, 256, 16, 2);
            goto run;
        }
        Pw<Silu>("(small L0 expand)", 16, 64, 16384);
        Pw<Silu>("(xx-small L0 expand)", 16, 32, 16384);
        Pw<Identity>("(xx-small L0 reduce)", 32, 16, 16384, true);
        Pw<Silu>("(xx-small L1 expand)", 24, 48, 4096);
        Pw<Identity>("(small L0 reduce)", 64, 32, 16384);
        Pw<Silu>("(small L1 expand)", 64, 256, 4096);
        Pw<Identity>("(small L1 reduce)", 256, 64, 4096, true);
        Pw<Silu>("(L2-resident L1 expand)", 64, 256, 512);
        Pw<Identity>("(L2-resident L1 reduce)", 256, 64, 512, true);
        Pw<Identity>("(L2-resident L0 reduce)", 64, 32, 2048);
        Pw<Silu>("(L2-resident L1.0 expand)", 32, 128, 1024);
        Pw<Identity>("(small qkv)", 144, 432, 1024);
        Pw<Identity>("(small L4 ffn2)", 480, 240, 64, true);
        Dw(64, 128, 1); Dw(128, 128, 2); Dw(256, 64, 1); Dw(384, 32, 2); Dw(384, 16, 2); Dw(256, 8, 1);
        Conv(3, 256, 16, 2); Conv(96, 32, 96, 1); Conv(192, 32, 96, 1); Conv(96, 32, 48, 1); Conv(320, 8, 160, 1); Conv(128, 16, 64, 1); Conv(160, 8, 80, 1); Conv(256, 16, 128, 1);
        Conv(48, 8, 48, 1); Conv(128, 4, 64, 1); Conv(160, 2, 80, 1); // the Fashion-MNIST model's blocks (64x64 input)
        Attn(144, 32); Attn(192, 16); Attn(64, 64); Attn(64, 32); Attn(80, 16); Attn(240, 8);
        Ln(144, 1024);
        {
            var x = R(640); var w = R(640 * 1000); var b = R(1000); var y = new float[1000];
            cases.Add(new("linear 640->1000 (small classifier)", 640L * 1000, () => Linear.Run(x, w, b, y, 640, 1000, pool)));
        }

        run:
        // only=<text>: just the kernels whose name contains the text (e.g. only=attention).
        string? only = args.FirstOrDefault(a => a.StartsWith("only=", StringComparison.Ordinal))?[5..];
        if (only is not null) cases.RemoveAll(c => !c.Name.Contains(only, StringComparison.Ordinal));
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 40;
        var times = cases.Select(_ => new double[rounds]).ToArray();
        // Warm-up by time: tiered JIT first runs the helpers without [AggressiveOptimization] (the GEMM's input packing)
        // as unoptimized tier-0 code, and promotes them only after ~30 calls and a pause in new compilations. A warm-up
        // of 5 calls measured the 64->32 1x1 at 2048 pixels at 40 GFLOP/s instead of 88.
        var warm = Stopwatch.StartNew();
        for (int round = 0; round < 50 || warm.Elapsed.TotalSeconds < 2; round++)
            foreach (var c in cases) c.Run();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < cases.Count; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                cases[i].Run();
                times[i][r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        Console.WriteLine($"{threads} thread(s), median of {rounds} rounds (min in brackets)");
        Console.WriteLine("| kernel | ms | GFLOP/s |");
        Console.WriteLine("|---|---:|---:|");
        for (int i = 0; i < cases.Count; i++)
        {
            Array.Sort(times[i]);
            double med = times[i][rounds / 2];
            Console.WriteLine($"| {cases[i].Name} | {med:F3} [{times[i][0]:F3}] | {2.0 * cases[i].Macs / med / 1e6:F1} [{2.0 * cases[i].Macs / times[i][0] / 1e6:F1}] |");
        }
    }
}
