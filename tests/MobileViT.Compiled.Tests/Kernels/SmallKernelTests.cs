using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

public class LayerNormTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check(Isa isa, int c, int p, Random rng, float offset, bool inPlace)
    {
        var input = Random(rng, c * p);
        for (int i = 0; i < input.Length; i++) input[i] += offset;
        var gamma = Random(rng, c);
        var beta = Random(rng, c);
        var expected = new float[c * p];
        ReferenceKernels.LayerNormChannels(input, gamma, beta, expected, c, p, 1e-5f);
        float[] actual;
        if (inPlace) { actual = (float[])input.Clone(); LayerNorm.ChannelsIsa(actual, gamma, beta, actual, c, p, 1e-5f, isa); }
        else { actual = new float[c * p]; LayerNorm.ChannelsIsa(input, gamma, beta, actual, c, p, 1e-5f, isa); }
        AssertClose(expected, actual, ReductionTol(c), $"{isa} c={c} p={p} offset={offset} inPlace={inPlace}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void AllTails(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(30);
        for (int c = 1; c <= 20; c++)
            for (int p = 1; p <= 70; p++)
                Check(isa, c, p, rng, (c + p) % 3 == 0 ? 3f : 0f, p % 4 == 0);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(31);
        Check(isa, 144, 1024, rng, 0f, false);
        Check(isa, 192, 256, rng, 0.5f, true);
        Check(isa, 240, 64, rng, 0f, false);
        Check(isa, 640, 16, rng, 0f, false);
    }
}

public class GlobalAveragePoolTests
{
    public static TheoryData<string> Isas => AllIsas;

    [Theory]
    [MemberData(nameof(Isas))]
    public void TailsAndRealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(40);
        var shapes = new List<(int c, int p)>();
        for (int c = 1; c <= 5; c++) for (int p = 1; p <= 140; p++) shapes.Add((c, p));
        shapes.Add((640, 64)); shapes.Add((320, 16)); shapes.Add((16, 16384)); shapes.Add((960, 49));
        foreach (var (c, p) in shapes)
        {
            var input = Random(rng, c * p);
            var expected = new float[c];
            ReferenceKernels.GlobalAveragePool(input, expected, c, p);
            var actual = new float[c];
            GlobalAveragePool.RunIsa(input, actual, c, p, isa);
            AssertClose(expected, actual, 1e-5f, $"{isa} c={c} p={p}");
        }
    }
}

public class LinearTests
{
    public static TheoryData<string> Isas => AllIsas;

    [Theory]
    [MemberData(nameof(Isas))]
    public void TailsAndRealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(50);
        var shapes = new List<(int k, int m)>();
        for (int k = 1; k <= 40; k++) for (int m = 1; m <= 9; m++) shapes.Add((k, m));
        shapes.Add((320, 1000)); shapes.Add((640, 1000)); shapes.Add((384, 1000)); shapes.Add((513, 21));
        foreach (var (k, m) in shapes)
        {
            var input = Random(rng, k);
            var weight = Random(rng, k * m);
            var bias = Random(rng, m);
            var expected = new float[m];
            ReferenceKernels.Linear(input, weight, bias, expected, k, m);
            var actual = new float[m];
            Linear.RunIsa(input, weight, bias, actual, k, m, isa);
            AssertClose(expected, actual, ReductionTol(k), $"{isa} k={k} m={m}");
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void SplitOverThreadsBitwiseTheSame(string isaName)
    {
        // Rows go to items in whole groups of 4: fewer groups than items, tails of 1-3 rows, the classifier shapes.
        var isa = Parse(isaName);
        var rng = new Random(51);
        using var pool = new MobileViT.Compiled.Threading.WorkerPool(2);
        foreach (var (k, m) in new[] { (7, 1), (16, 3), (33, 5), (40, 9), (17, 30), (640, 1000), (320, 1000), (513, 21) })
        {
            var input = Random(rng, k);
            var weight = Random(rng, k * m);
            var bias = Random(rng, m);
            var serial = new float[m];
            var parallel = new float[m];
            Linear.RunIsa(input, weight, bias, serial, k, m, isa);
            Linear.RunIsa(input, weight, bias, parallel, k, m, isa, pool);
            Assert.True(serial.AsSpan().SequenceEqual(parallel), $"{isa} k={k} m={m}");
        }
    }
}

public class PatchAttentionTests
{
    public static TheoryData<string> Isas => AllIsas;

    private static void Check(Isa isa, int hidden, int heads, int h, int w, int ph, int pw, Random rng, float scale = 1f)
    {
        int pixels = h * w;
        var qkv = Random(rng, 3 * hidden * pixels, scale);
        var expected = new float[hidden * pixels];
        ReferenceKernels.PatchAttention(qkv, expected, hidden, heads, h, w, ph, pw);
        var actual = new float[hidden * pixels];
        int tokens = (h / ph) * (w / pw);
        var scratch = new float[PatchAttention.ScratchLength(tokens, hidden / heads, ph, pw)];
        PatchAttention.RunIsa(qkv, actual, hidden, heads, h, w, ph, pw, scratch, isa);
        AssertClose(expected, actual, 2e-5f, $"{isa} hidden={hidden} heads={heads} {h}x{w} patch {ph}x{pw}");
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void TokenAndDimTails(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(60);
        // tokens 1..~40 (patch grids up to 8x5), head dims 1..9, 1-3 heads, 1x1/2x2/2x1 patches
        foreach (var (ph, pw) in new[] { (2, 2), (1, 1), (2, 1) })
        for (int gy = 1; gy <= 8; gy += 1)
        for (int gx = 1; gx <= 5; gx += 2)
        foreach (var (hidden, heads) in new[] { (1, 1), (6, 2), (9, 3), (8, 1), (12, 4), (5, 1) })
            Check(isa, hidden, heads, gy * ph, gx * pw, ph, pw, rng, 2f);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void QueryBlocksWithTails(string isaName)
    {
        // More tokens than one query block (64), with partial last blocks and odd vector tails inside them.
        var isa = Parse(isaName);
        var rng = new Random(62);
        foreach (var (gy, gx) in new[] { (8, 9), (9, 11), (12, 13), (16, 8), (20, 21) })
        foreach (var (hidden, heads) in new[] { (12, 4), (10, 2), (8, 1) })
            Check(isa, hidden, heads, gy * 2, gx * 2, 2, 2, rng, 2f);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void PatchRowsOfWholeVectors(string isaName)
    {
        // Patch rows of 16 and 32 tokens (32x32 and 64x64 maps): vector gathers at both patch columns, masked-store
        // scatters; 16 x 16 and 8 x 32 grids also give Q, K, V rows with slack (n a multiple of 128).
        var isa = Parse(isaName);
        var rng = new Random(63);
        foreach (var (gy, gx) in new[] { (4, 16), (16, 16), (8, 32), (3, 48) })
        foreach (var (hidden, heads) in new[] { (64, 4), (20, 2) })
            Check(isa, hidden, heads, gy * 2, gx * 2, 2, 2, rng, 2f);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void RealShapes(string isaName)
    {
        var isa = Parse(isaName);
        var rng = new Random(61);
        Check(isa, 64, 4, 64, 64, 2, 2, rng);    // DeepLabV3-MobileViT-XXS stage 3 at 512x512: 1024 tokens, 16 query blocks
        Check(isa, 144, 4, 32, 32, 2, 2, rng);   // MobileViT-S stage 3: 256 tokens, head dim 36
        Check(isa, 192, 4, 16, 16, 2, 2, rng);   // 64 tokens, head dim 48
        Check(isa, 240, 4, 8, 8, 2, 2, rng);     // 16 tokens, head dim 60
        Check(isa, 64, 4, 32, 32, 2, 2, rng, 3f); // XXS, head dim 16, peakier softmax
        Check(isa, 96, 4, 9, 10, 2, 2, rng);     // map not a multiple of the patch
    }
}
