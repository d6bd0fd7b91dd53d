using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.Kernels.Reference;
using Xunit.Abstractions;
using static MobileViT.Compiled.Tests.Kernels.KernelTestUtil;

namespace MobileViT.Compiled.Tests.Kernels;

/// <summary>
/// The int8 GEMM (<see cref="QuantizedGemm"/>) on every path this machine supports against its scalar twin
/// (<see cref="ReferenceKernels.QuantizedGemm"/>): int32 accumulators and float outputs must be identical, bit for bit.
/// </summary>
public class QuantizedGemmTests(ITestOutputHelper output)
{
    /// <summary>Every int8 GEMM path whose instructions this machine has (always Scalar and, on any SIMD machine, Portable128).</summary>
    public static TheoryData<string> Paths
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var path in Enum.GetValues<QuantizedGemmPath>())
                if (QuantizedGemm.IsSupported(path)) data.Add(path.ToString());
            return data;
        }
    }

    public static TheoryData<string> QuantizePaths => new() { "Scalar", "Vector" };

    private static QuantizedGemmPath Parse(string name) => Enum.Parse<QuantizedGemmPath>(name);

    /// <summary>Row-major [K, N] bytes of the packed activations (the inverse of the packing).</summary>
    private static byte[] Unpack(byte[] packed, int k, int n)
    {
        var a = new byte[k * n];
        for (int kk = 0; kk < k; kk++)
        for (int p = 0; p < n; p++)
            a[kk * n + p] = packed[Index(kk, p, k)];
        return a;
    }

    /// <summary>
    /// Packs row-major [K, N] bytes the way <see cref="QuantizedGemm.QuantizeActivations"/> does (padding 0), then each
    /// padded pixel's scale and zero point (the given ones for the first N, 1 and 0 for the padding).
    /// </summary>
    private static byte[] PackActivations(byte[] a, int k, int n, float[]? scales = null, int[]? zeroPoints = null)
    {
        var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
        for (int kk = 0; kk < k; kk++)
        for (int p = 0; p < n; p++)
            packed[Index(kk, p, k)] = a[kk * n + p];
        int np = QuantizedGemm.PaddedPixels(n), tail = (k + 3) / 4 * np * 4;
        for (int p = 0; p < np; p++)
        {
            BitConverter.TryWriteBytes(packed.AsSpan(tail + 4 * p), p < n && scales is not null ? scales[p] : 1f);
            BitConverter.TryWriteBytes(packed.AsSpan(tail + 4 * (np + p)), p < n && zeroPoints is not null ? zeroPoints[p] : 0);
        }
        return packed;
    }

    /// <summary>The documented layout: tiles of 16 pixels, per tile ceil(K/4) quads of 16 pixels x 4 bytes.</summary>
    private static int Index(int kk, int p, int k) => ((p / 16) * ((k + 3) / 4) + kk / 4) * 64 + (p % 16) * 4 + kk % 4;

    private static byte[] RandomActivations(Random rng, int length)
    {
        var a = new byte[length];
        for (int i = 0; i < length; i++) a[i] = (byte)rng.Next(0, QuantizedGemm.MaxActivation + 1);
        return a;
    }

    private static sbyte[] RandomWeights(Random rng, int length)
    {
        var w = new sbyte[length];
        for (int i = 0; i < length; i++) w[i] = (sbyte)rng.Next(-128, 128);
        return w;
    }

    private static float[] Ones(int m) => Enumerable.Repeat(1f, m).ToArray();

    /// <summary>The path's raw int32 accumulators for row-major a [K, N] and w [M, K].</summary>
    private static int[] Accumulators(QuantizedGemmPath path, byte[] a, sbyte[] w, int k, int m, int n)
    {
        var weights = QuantizedWeights.Pack(w, Ones(m), k, m);
        var outputBits = new float[m * n];
        QuantizedGemm.RunPath(path, PackActivations(a, k, n), weights, default, outputBits, n, default, raw: true);
        return outputBits.Select(BitConverter.SingleToInt32Bits).ToArray();
    }

    private static void AssertSameInts(int[] expected, int[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i]) Assert.Fail($"{context}: accumulator {i}: expected {expected[i]}, got {actual[i]}");
    }

    private static void AssertSameFloats(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{context}: element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AccumulatorsEqualTheReferenceWithEveryTail(string pathName)
    {
        // K not a multiple of 4, M not a multiple of the 4- or 8-row tile, N not a multiple of any vector width.
        var path = Parse(pathName);
        var rng = new Random(11);
        var shapes = new List<(int K, int M, int N)>();
        for (int k = 1; k <= 9; k++) shapes.Add((k, 1 + k % 9, 1 + 7 * k));
        for (int m = 1; m <= 17; m++) shapes.Add((13, m, 5 + 3 * m));
        for (int n = 1; n <= 70; n++) shapes.Add((6 + n % 5, 3 + n % 11, n));
        for (int i = 0; i < 30; i++) shapes.Add((rng.Next(1, 200), rng.Next(1, 40), rng.Next(1, 150)));
        foreach (var (k, m, n) in shapes)
        {
            var a = RandomActivations(rng, k * n);
            var w = RandomWeights(rng, m * k);
            var expected = new int[m * n];
            ReferenceKernels.QuantizedGemmAccumulators(a, w, expected, k, m, n);
            AssertSameInts(expected, Accumulators(path, a, w, k, m, n), $"{path} K={k} M={m} N={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void OutputsEqualTheReferenceBitForBit(string pathName)
    {
        var path = Parse(pathName);
        var rng = new Random(12);
        for (int i = 0; i < 40; i++)
        {
            int k = rng.Next(1, 300), m = rng.Next(1, 30), n = rng.Next(1, 100), residualMode = i % 3;
            var x = Random(rng, k * n, 3f);
            var weight = Random(rng, m * k, 0.2f);
            var bias = i % 4 == 3 ? Array.Empty<float>() : Random(rng, m);
            var weights = QuantizedWeights.Quantize(weight, k, m);
            var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
            QuantizedGemm.QuantizeActivations(x, k, n, packed);

            var res = residualMode == 0 ? Array.Empty<float>() : Random(rng, m * n);
            var expected = new float[m * n];
            var qw = new sbyte[m * k];
            var scales = new float[m];
            ReferenceKernels.QuantizeWeightsPerRow(weight, k, m, qw, scales);
            ReferenceKernels.QuantizedGemm(Unpack(packed, k, n), QuantizedGemm.PixelScales(packed, k, n), QuantizedGemm.PixelZeroPoints(packed, k, n),
                qw, scales, bias, expected, k, m, n, res);

            float[] actual;
            if (residualMode == 2)
            {
                actual = (float[])res.Clone(); // the residual aliases the output
                QuantizedGemm.RunPath(path, packed, weights, bias, actual, n, actual);
            }
            else
            {
                actual = new float[m * n];
                QuantizedGemm.RunPath(path, packed, weights, bias, actual, n, res);
            }
            AssertSameFloats(expected, actual, $"{path} K={k} M={m} N={n} residual={residualMode}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ExtremesNeitherSaturateNorOverflow(string pathName)
    {
        // Activations at both ends of [0, 254] times weights 127, -127 and -128, summed over K up to 4099: through the
        // sign trick pmaddubsw pairs reach +-32512 (under int16's 32767; without it 2 x 254 x 128 would saturate),
        // accumulators -133 million (far inside int32). Checked against closed forms, not only the reference.
        var path = Parse(pathName);
        var rng = new Random(13);
        foreach (int k in new[] { 4, 255, 1027, 4096, 4099 })
        foreach (sbyte wv in new sbyte[] { 127, -128, -127 })
        foreach (byte av in new byte[] { 0, 1, 127, 253, 254 })
        {
            int m = 9, n = 21;
            var a = Enumerable.Repeat(av, k * n).ToArray();
            var w = Enumerable.Repeat(wv, m * k).ToArray();
            int[] acc = Accumulators(path, a, w, k, m, n);
            int exact = checked(av * wv * k);
            for (int i = 0; i < acc.Length; i++)
                if (acc[i] != exact) Assert.Fail($"{path} K={k} a={av} w={wv}: accumulator {i} = {acc[i]}, expected {exact}");
        }
        // Mixed extremes: activations alternating 254 / 0 / 254 / 254, weights 127 / -128 by position and row.
        foreach (int k in new[] { 7, 4098 })
        {
            int m = 11, n = 35;
            var a = new byte[k * n];
            for (int i = 0; i < a.Length; i++) a[i] = (byte)(i % 4 == 1 ? 0 : 254);
            var w = new sbyte[m * k];
            for (int i = 0; i < w.Length; i++) w[i] = (sbyte)((i / 3 + i / k) % 2 == 0 ? 127 : -128);
            var expected = new int[m * n];
            ReferenceKernels.QuantizedGemmAccumulators(a, w, expected, k, m, n);
            AssertSameInts(expected, Accumulators(path, a, w, k, m, n), $"{path} mixed extremes K={k}");
            _ = rng;
        }
    }

    [Theory]
    [MemberData(nameof(QuantizePaths))]
    public void QuantizeStepEqualsTheReference(string which)
    {
        bool vector = which == "Vector";
        var rng = new Random(14);
        var cases = new List<(int K, int N, float[] X)>();
        for (int i = 0; i < 40; i++)
        {
            int k = rng.Next(1, 40), n = rng.Next(1, 90);
            float lo = (float)(rng.NextDouble() * 4 - 3), span = (float)(rng.NextDouble() * 8);
            var x = new float[k * n];
            for (int j = 0; j < x.Length; j++) x[j] = lo + span * (float)rng.NextDouble();
            cases.Add((k, n, x));
        }
        cases.Add((5, 7, new float[35]));                                        // all zero
        cases.Add((4, 33, Enumerable.Repeat(2.5f, 132).ToArray()));              // constant positive: [0, 2.5]
        cases.Add((3, 17, Enumerable.Repeat(-0.75f, 51).ToArray()));             // constant negative: zp = 254
        // Pixels with very different ranges: each gets its own scale (pixel p's values scaled by 10^(p % 7 - 3)).
        cases.Add((9, 45, Enumerable.Range(0, 405).Select(i => (i % 13 - 4) * MathF.Pow(10f, i % 45 % 7 - 3)).ToArray()));
        // A range too wide for a float (scale falls back to 1, values far past int32) and infinities: both paths convert
        // with saturation and add the zero point the same way, so even these give the reference's bytes.
        cases.Add((4, 19, Enumerable.Range(0, 76).Select(i => i % 3 == 0 ? 3e38f : i % 3 == 1 ? -3e38f : 5f).ToArray()));
        cases.Add((4, 19, Enumerable.Range(0, 76).Select(i => i % 5 == 0 ? float.PositiveInfinity : i % 5 == 1 ? float.NegativeInfinity : i * 0.1f).ToArray()));
        // The same over 70 pixels: the vector path's blocks of 4 vectors (ranges in registers) and its vector parameters.
        cases.Add((4, 70, Enumerable.Range(0, 280).Select(i => i % 7 == 0 ? float.PositiveInfinity : i % 11 == 1 ? float.NegativeInfinity : i % 13 == 2 ? 3e38f : i * 0.1f).ToArray()));
        // NaN: its pixel's range is NaN, so scale 1 and every byte as the reference's.
        cases.Add((3, 70, Enumerable.Range(0, 210).Select(i => i % 17 == 0 ? float.NaN : i * -0.05f).ToArray()));
        foreach (var (k, n, x) in cases)
        {
            var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
            Array.Fill(packed, (byte)0xEE); // padding must be written, not left
            QuantizedGemm.QuantizeActivationsPath(x, k, n, packed, vector);
            var expected = new byte[k * n];
            var scales = new float[n];
            var zeroPoints = new int[n];
            ReferenceKernels.QuantizeActivations(x, k, n, expected, scales, zeroPoints);
            Assert.Equal(scales, QuantizedGemm.PixelScales(packed, k, n).ToArray());
            Assert.Equal(zeroPoints, QuantizedGemm.PixelZeroPoints(packed, k, n).ToArray());
            Assert.Equal(expected, Unpack(packed, k, n));
            // Including the zero padding past K and N and the padding pixels' parameters.
            Assert.Equal(PackActivations(expected, k, n, scales, zeroPoints), packed);
        }
    }

    [Theory]
    [MemberData(nameof(QuantizePaths))]
    public void QuantizeRoundTripIsWithinHalfAStepAndZeroIsExact(string which)
    {
        bool vector = which == "Vector";
        var rng = new Random(15);
        foreach (var (lo, hi) in new[] { (-1f, 1f), (-0.01f, 5f), (0f, 6f), (-3f, 0f), (-100f, 0.5f), (0.5f, 2f), (-1e-3f, 1e-3f) })
        {
            int k = 19, n = 53;
            var x = new float[k * n];
            for (int i = 0; i < x.Length; i++) x[i] = i % 10 == 0 ? 0f : lo + (hi - lo) * (float)rng.NextDouble();
            x[1] = lo; x[2] = hi;
            var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
            QuantizedGemm.QuantizeActivationsPath(x, k, n, packed, vector);
            var a = Unpack(packed, k, n);
            var scales = QuantizedGemm.PixelScales(packed, k, n).ToArray();
            var zeroPoints = QuantizedGemm.PixelZeroPoints(packed, k, n).ToArray();
            for (int p = 0; p < n; p++)
            {
                float min = 0f, max = 0f;
                for (int j = 0; j < k; j++) { min = MathF.Min(min, x[j * n + p]); max = MathF.Max(max, x[j * n + p]); }
                float scale = scales[p];
                int zp = zeroPoints[p];
                Assert.True(zp is >= 0 and <= 254, $"zero point {zp}");
                // The range always contains 0, so the scale covers the pixel's max(hi, 0) - min(lo, 0) in 254 steps.
                Assert.True(MathF.Abs(scale * 254f - (max - min)) <= 1e-5f * scale * 254f, $"pixel {p}: scale {scale}");
                for (int j = 0; j < k; j++)
                {
                    // Half a step, plus float rounding of x / scale and of the dequantized value (a few ulps of |x|): with
                    // zp rounded up by half a step the top of the range lands on 254.5 and is clamped, exactly scale / 2 off.
                    int i = j * n + p;
                    float bound = scale * 0.5f + 1e-6f * MathF.Abs(x[i]);
                    Assert.True(a[i] <= 254, $"byte {a[i]} is past 254");
                    float back = scale * (a[i] - zp);
                    if (x[i] == 0f && (a[i] != zp || back != 0f)) Assert.Fail($"[{lo}, {hi}]: 0 quantized to {a[i]} (zero point {zp})");
                    if (!(MathF.Abs(back - x[i]) <= bound)) Assert.Fail($"[{lo}, {hi}]: {x[i]} -> {a[i]} -> {back}, error {MathF.Abs(back - x[i])} > scale / 2 = {scale / 2}");
                }
            }
        }
    }

    [Fact]
    public void WeightsQuantizeSymmetricallyPerRowAndPackWithRowSums()
    {
        var rng = new Random(16);
        int k = 11, m = 10;
        var weight = Random(rng, m * k);
        for (int j = 0; j < k; j++) weight[3 * k + j] = 0f; // an all-zero row: scale 1, q 0
        var packed = QuantizedWeights.Quantize(weight, k, m);
        Assert.Equal(QuantizedWeights.PackedLength(k, m), packed.Packed.Length);
        Assert.Equal(16 * 12, packed.Packed.Length);
        Assert.Equal(1f, packed.Scales[3]);
        for (int row = 0; row < m; row++)
        {
            float maxAbs = 0f;
            for (int j = 0; j < k; j++) maxAbs = MathF.Max(maxAbs, MathF.Abs(weight[row * k + j]));
            int sum = 0, reached = 0;
            for (int j = 0; j < 12; j++)
            {
                var q = (sbyte)packed.Packed[(((row / 8) * 3 + j / 4) * 8 + row % 8) * 4 + j % 4];
                if (j >= k) { Assert.Equal((sbyte)0, q); continue; }
                Assert.True(q is >= -127 and <= 127, $"{q}");
                Assert.True(MathF.Abs(q * packed.Scales[row] - weight[row * k + j]) <= packed.Scales[row] * 0.5001f, "weight round trip");
                reached = Math.Max(reached, Math.Abs((int)q));
                sum += q;
            }
            Assert.Equal(sum, packed.RowSums[row]);
            if (maxAbs > 0f) Assert.Equal(127, reached); // the largest weight of each row maps to +-127
        }
        // Rows past M in the last panel are zero.
        for (int i = m * 0 + ((m / 8) * 3 * 8 * 4); i < packed.Packed.Length; i++)
        {
            int lane = i / 4 % 8;
            if (lane >= m % 8) Assert.Equal((byte)0, packed.Packed[i]);
        }
    }

    [Fact]
    public void Int8IsWithinTheQuantizationErrorOfTheFloatGemm()
    {
        // MobileViT-like data: SiLU activations (a long positive tail, small negatives), weights ~ U(-1, 1) / sqrt(K),
        // a 1x1 convolution of mobilevit-small (K = 96, M = 192) on 8x8 pixels with a bias and a residual.
        var rng = new Random(17);
        int k = 96, m = 192, n = 64;
        var x = new float[k * n];
        for (int i = 0; i < x.Length; i++)
        {
            float g = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())) * 2f;
            x[i] = g / (1f + MathF.Exp(-g));
        }
        var weight = Random(rng, m * k, 1f / MathF.Sqrt(k));
        var bias = Random(rng, m, 0.1f);
        var res = Random(rng, m * n);
        var exact = new float[m * n];
        ReferenceKernels.PointwiseConv<Identity>(x, weight, bias, exact, k, m, n, res);

        var weights = QuantizedWeights.Quantize(weight, k, m);
        var y = new float[m * n];
        QuantizedGemm.RunFloat(x, weights, bias, y, n, res);
        var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
        QuantizedGemm.QuantizeActivations(x, k, n, packed);
        var pixelScales = QuantizedGemm.PixelScales(packed, k, n).ToArray();

        // Per element: |x w - x' w'| <= |x| |w - w'| + |w'| |x - x'| with |w - w'| <= sW / 2, |x - x'| <= sA / 2.
        double squared = 0, reference = 0;
        for (int row = 0; row < m; row++)
        for (int p = 0; p < n; p++)
        {
            double bound = 1e-4;
            for (int j = 0; j < k; j++)
                bound += MathF.Abs(x[j * n + p]) * weights.Scales[row] * 0.5 + (MathF.Abs(weight[row * k + j]) + weights.Scales[row] * 0.5) * pixelScales[p] * 0.5;
            double error = Math.Abs(y[row * n + p] - exact[row * n + p]);
            if (!(error <= bound)) Assert.Fail($"({row}, {p}): int8 {y[row * n + p]}, float {exact[row * n + p]}, error {error} > bound {bound}");
            squared += error * error;
            reference += (exact[row * n + p] - res[row * n + p]) * (double)(exact[row * n + p] - res[row * n + p]);
        }
        double relative = Math.Sqrt(squared / reference);
        output.WriteLine($"pixel scales {pixelScales.Min()} to {pixelScales.Max()}; RMS error / RMS of the GEMM output: {relative:P2}");
        RecordRelativeError((float)relative);
        Assert.True(relative < 0.02, $"relative RMS error {relative:P2}"); // about 1 % measured
    }

    [Fact]
    public void RunFloatIsQuantizeThenRunOnTheBestPath()
    {
        var rng = new Random(18);
        int k = 37, m = 13, n = 29;
        var x = Random(rng, k * n, 2f);
        var weights = QuantizedWeights.Quantize(Random(rng, m * k), k, m);
        var bias = Random(rng, m);
        var packed = new byte[QuantizedGemm.PackedActivationLength(k, n)];
        QuantizedGemm.QuantizeActivations(x, k, n, packed);
        var viaScalar = new float[m * n];
        QuantizedGemm.RunPath(QuantizedGemmPath.Scalar, packed, weights, bias, viaScalar, n, default);
        var viaRun = new float[m * n];
        QuantizedGemm.RunFloat(x, weights, bias, viaRun, n);
        AssertSameFloats(viaScalar, viaRun, $"RunFloat on {QuantizedGemm.Best}");
        output.WriteLine($"best int8 path here: {QuantizedGemm.Best}; supported: {string.Join(", ", Enum.GetValues<QuantizedGemmPath>().Where(QuantizedGemm.IsSupported))}");
    }
}
