using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MobileViT.Compiled.Kernels.Reference;
using MobileViT.Compiled.Threading;

namespace MobileViT.Compiled.Kernels;

/// <summary>
/// Stride-1, undilated 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2016): a 4x4 input
/// tile d and a 3x3 filter g give the 2x2 output tile Y = A^T [(G g G^T) . (B^T d B)] A. Summed over input channels the
/// elementwise product becomes 16 GEMMs, one per tile position xi: U_xi [outC x inC] x V_xi [inC x tiles]. That is
/// 16 multiplications per 4 outputs instead of 36 (2.25x fewer); the input and output transforms are additions only,
/// and G's halves are applied to the weights once at load, in double precision.
/// <para>
/// The MobileViT block's local (C -> C) and fusion (2C -> C) convolutions are its 3x3 layers: 20 % of mobilevit-small's
/// multiply-adds. Each work item is a chunk of up to 3 GEMM vectors of tiles (48 with Vector512) x a range of output
/// channels: it transforms the chunk's input into V (all 16 positions, one GEMM panel each, in the layout the GEMM's
/// microkernel reads, so no packing), runs the 16 GEMMs with <see cref="Gemm"/>'s microkernels into M, and transforms
/// M back to the output with bias and activation. V and M stay in the thread's L2 (590 + 295 KiB at 192 -> 96
/// channels); the 16 transformed weight matrices stream from L3.
/// </para>
/// <para>
/// The input is first copied once into a zero-padded map whose rows are split into even and odd columns: tile (ty, tx)
/// then reads columns 2 tx .. 2 tx + 3 as the unit-stride vectors even[tx], odd[tx], even[tx + 1], odd[tx + 1], with
/// one tile per lane. Rows of few tiles (8x8 maps: 4 tiles) run the transforms on narrower vectors than the GEMM.
/// </para>
/// </summary>
[SkipLocalsInit]
public static unsafe partial class WinogradConv2D
{
    /// <summary>Positions of the 4x4 transformed tile: one GEMM each.</summary>
    public const int Positions = 16;

    /// <summary>Columns past a padded half-row's tiles: the over-read of a 16-lane transform vector.</summary>
    private const int RowSlack = 16;

    /// <summary>The convolutions this kernel computes: 3x3, stride 1, dilation 1 (any padding, any channel counts).</summary>
    public static bool Applies(int kernelSize, int stride, int dilation) => kernelSize == 3 && stride == 1 && dilation == 1;

    /// <summary>Floats of <see cref="PackWeights"/>' result: one GEMM weight matrix per position.</summary>
    public static int PackedLength(int inChannels, int outChannels) => Positions * Gemm.PackedLength(inChannels, outChannels);

    /// <summary>
    /// Transforms a [outC, inC, 3, 3] weight to U = G g G^T per (co, ci) and packs position xi's [outC, inC] matrix in
    /// the GEMM's 8-row panels at <c>xi * Gemm.PackedLength(inC, outC)</c>. Called once at load.
    /// </summary>
    public static float[] PackWeights(ReadOnlySpan<float> weight, int inChannels, int outChannels)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), "channel counts must be positive");
        if (weight.Length < (long)outChannels * inChannels * 9) throw new ArgumentException("weight is shorter than outC * inC * 9", nameof(weight));
        int slice = Gemm.PackedLength(inChannels, outChannels);
        var packed = new float[Positions * slice];
        Span<double> gg = stackalloc double[12];
        for (int co = 0; co < outChannels; co++)
            for (int ci = 0; ci < inChannels; ci++)
            {
                var g = weight.Slice((co * inChannels + ci) * 9, 9);
                // G g (4x3): rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2 over the filter's rows.
                for (int c = 0; c < 3; c++)
                {
                    double g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
                    gg[c] = g0;
                    gg[3 + c] = (g0 + g1 + g2) / 2;
                    gg[6 + c] = (g0 - g1 + g2) / 2;
                    gg[9 + c] = g2;
                }
                // (G g) G^T (4x4): the same combination over each row's columns.
                int at = ((co / Gemm.Mr) * inChannels + ci) * Gemm.Mr + co % Gemm.Mr;
                for (int a = 0; a < 4; a++)
                {
                    double t0 = gg[3 * a], t1 = gg[3 * a + 1], t2 = gg[3 * a + 2];
                    packed[(4 * a + 0) * slice + at] = (float)t0;
                    packed[(4 * a + 1) * slice + at] = (float)((t0 + t1 + t2) / 2);
                    packed[(4 * a + 2) * slice + at] = (float)((t0 - t1 + t2) / 2);
                    packed[(4 * a + 3) * slice + at] = (float)t2;
                }
            }
        return packed;
    }

    /// <summary>
    /// Scratch floats <see cref="Run{TAct}"/> needs (the generator uses the same formula): the padded, even/odd-split
    /// input, then, for maps of at most 256 tiles, room for the transformed input of every tile, 16 x (inC + 16) x
    /// (tiles rounded up to 16), which is used when few tiles are split over threads.
    /// </summary>
    public static int ScratchLength(int inChannels, int inHeight, int inWidth, int padding)
    {
        var shape = new Shape(inChannels, inHeight, inWidth, padding);
        return checked(shape.PaddedLength + (shape.Tiles <= SharedMaxTiles ? Positions * (inChannels + RowSlack) * ((shape.Tiles + 15) / 16 * 16) : 0));
    }

    /// <summary>
    /// Maps of at most this many tiles (32x32 and smaller) transform their input once into the scratch when split over
    /// threads by output channels; larger ones transform per item, so their scratch does not grow with the map (a
    /// 1024x1024 input would need 54 MB more).
    /// </summary>
    private const int SharedMaxTiles = 256;

    /// <summary>out = act(bias + conv3x3(input)) with stride 1, dilation 1 and the given zero padding.</summary>
    public static void Run<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels, int padding, Span<float> scratch,
        WorkerPool? pool = null)
        where TAct : struct, IActivation
        => RunIsa<TAct>(input, packedWeight, bias, output, inChannels, inHeight, inWidth, outChannels, padding, scratch, KernelIsa.Best, pool);

    internal static void RunIsa<TAct>(ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias,
        Span<float> output, int inChannels, int inHeight, int inWidth, int outChannels, int padding, Span<float> scratch,
        Isa isa, WorkerPool? pool = null, bool forceMr4 = false)
        where TAct : struct, IActivation
    {
        if (inChannels <= 0 || padding < 0) throw new ArgumentOutOfRangeException(nameof(inChannels), "channels must be positive and padding not negative");
        var shape = new Shape(inChannels, inHeight, inWidth, padding);
        if (shape.OutHeight <= 0 || shape.OutWidth <= 0 || outChannels <= 0) return;
        if (input.Length < inChannels * inHeight * inWidth) throw new ArgumentException("input too short", nameof(input));
        if (packedWeight.Length < PackedLength(inChannels, outChannels)) throw new ArgumentException("packed weight too short (use PackWeights)", nameof(packedWeight));
        if (output.Length < outChannels * shape.OutHeight * shape.OutWidth) throw new ArgumentException("output too short", nameof(output));
        if (!bias.IsEmpty && bias.Length < outChannels) throw new ArgumentException("bias too short", nameof(bias));
        if (scratch.Length < ScratchLength(inChannels, inHeight, inWidth, padding)) throw new ArgumentException("scratch too short (use ScratchLength)", nameof(scratch));

        fixed (float* pIn = input, pW = packedWeight, pB = bias, pOut = output, pPad = scratch)
        {
            var job = new Job
            {
                Input = pIn, Padded = pPad, SharedV = null, PackedW = pW, ForceMr4 = forceMr4, Bias = bias.IsEmpty ? null : pB, Output = pOut, Shape = shape,
                OutChannels = outChannels, WeightSlice = Gemm.PackedLength(inChannels, outChannels),
            };
            // The transforms run on the narrowest vectors that hold a row of tiles; the GEMM on the path's own.
            int tilesX = shape.TilesX;
            switch (isa)
            {
                case Isa.Vector512 when tilesX <= 4: Run<Ops512, Vector512<float>, Ops128, Vector128<float>, TAct>(ref job, pool); break;
                case Isa.Vector512 when tilesX <= 8: Run<Ops512, Vector512<float>, Ops256, Vector256<float>, TAct>(ref job, pool); break;
                case Isa.Vector512: Run<Ops512, Vector512<float>, Ops512, Vector512<float>, TAct>(ref job, pool); break;
                case Isa.Vector256 when tilesX <= 4: Run<Ops256, Vector256<float>, Ops128, Vector128<float>, TAct>(ref job, pool); break;
                case Isa.Vector256: Run<Ops256, Vector256<float>, Ops256, Vector256<float>, TAct>(ref job, pool); break;
                case Isa.Vector128: Run<Ops128, Vector128<float>, Ops128, Vector128<float>, TAct>(ref job, pool); break;
                default: Run<OpsScalar, float, OpsScalar, float, TAct>(ref job, pool); break;
            }
        }
    }

    /// <summary>The map's geometry: tiles of 2x2 outputs, and the padded even/odd copy of the input.</summary>
    private readonly struct Shape
    {
        public readonly int Channels, Height, Width, Padding, OutHeight, OutWidth, TilesY, TilesX;

        public Shape(int channels, int height, int width, int padding)
        {
            Channels = channels; Height = height; Width = width; Padding = padding;
            OutHeight = ReferenceKernels.ConvOutputSize(height, 3, 1, padding, 1);
            OutWidth = ReferenceKernels.ConvOutputSize(width, 3, 1, padding, 1);
            TilesY = (Math.Max(OutHeight, 0) + 1) / 2;
            TilesX = (Math.Max(OutWidth, 0) + 1) / 2;
        }

        /// <summary>Padded rows: the 4 input rows of every tile row (2 ty .. 2 ty + 3).</summary>
        public int PaddedRows => 2 * TilesY + 2;
        /// <summary>
        /// Floats of one half-row (even or odd columns): tilesX + 1 tap columns and the vector over-read, rounded up to
        /// 16 so that whole vectors of every width fill it.
        /// </summary>
        public int RowStride => (TilesX + RowSlack + 15) / 16 * 16;
        public int Tiles => TilesY * TilesX;
        public int PaddedLength => checked(Channels * PaddedRows * 2 * RowStride);
    }

    private struct Job
    {
        public float* Input, Padded, PackedW, Bias, Output;
        /// <summary>Null, or the transformed input of every chunk (chunk c at <see cref="SharedBlock"/>), made once for all groups.</summary>
        public float* SharedV;
        public Shape Shape;
        public int OutChannels, WeightSlice, ChunkTiles, Groups, Panels, PadSlices;
        /// <summary>The GEMM's 16-register microkernels even where 32 registers exist (tests: the plain-AVX2 path).</summary>
        public bool ForceMr4;
    }

    private static void Run<TG, TVG, TT, TVT, TAct>(ref Job job, WorkerPool? pool)
        where TG : struct, IVecOps<TVG> where TVG : struct where TT : struct, IVecOps<TVT> where TVT : struct
        where TAct : struct, IActivation
    {
        int tiles = job.Shape.Tiles, lanes = TG.Count;
        job.Panels = (job.OutChannels + Gemm.Mr - 1) / Gemm.Mr;
        job.ChunkTiles = 3 * lanes;
        job.Groups = 1;
        job.PadSlices = 1;
        int threads = pool?.Threads ?? 1;
        if (threads > 1)
        {
            // About 4 items per thread, so a descheduled thread's share is picked up: smaller chunks first (down to one
            // vector of tiles), then output-channel groups (each transforms the chunk's input again: a few % of it).
            int target = 4 * threads;
            if (Chunks(tiles, job.ChunkTiles) < target)
                job.ChunkTiles = Math.Max(lanes, ((tiles + target - 1) / target + lanes - 1) / lanes * lanes);
            int chunks = Chunks(tiles, job.ChunkTiles);
            if (chunks < target) job.Groups = Math.Min(job.Panels, (target + chunks - 1) / chunks);
            job.PadSlices = threads;
        }
        int items = Chunks(tiles, job.ChunkTiles) * job.Groups;
        fixed (Job* j = &job)
        {
            if (threads == 1)
            {
                PadChannels<TG, TVG>(j, 0, 0);
                for (int i = 0; i < items; i++) Item<TG, TVG, TT, TVT, TAct>(j, i, 0);
                return;
            }
            if (job.Groups == 1 || job.Shape.Tiles > SharedMaxTiles)
            {
                pool!.For(job.PadSlices, &PadChannels<TG, TVG>, j);
                pool.For(items, &Item<TG, TVG, TT, TVT, TAct>, j);
                return;
            }
            // Output-channel groups would each transform their chunk's input again (at 8x8, as long as their GEMMs):
            // transform it once, a slice of channels per thread, into the scratch after the padded map.
            job.SharedV = job.Padded + job.Shape.PaddedLength;
            pool!.For(job.PadSlices, &PadAndTransform<TG, TVG, TT, TVT>, j);
            pool.For(items, &Item<TG, TVG, TT, TVT, TAct>, j);
        }
    }

    /// <summary>The GEMM width of a chunk (its tiles rounded up to whole vectors) and its transformed input's slice stride.</summary>
    private static (int T0, int T1, int Width, long SliceV) ChunkLayout(ref Job j, int chunk, int lanes)
    {
        int t0 = chunk * j.ChunkTiles, t1 = Math.Min(j.Shape.Tiles, t0 + j.ChunkTiles);
        int width = (t1 - t0 + lanes - 1) / lanes * lanes;
        // Slices carry RowSlack floats past their last row: the output transform's vectors read past M's last row.
        return (t0, t1, width, (long)j.Shape.Channels * width + RowSlack);
    }

    /// <summary>Chunk c's transformed input in <see cref="Job.SharedV"/>: every chunk before it is a whole ChunkTiles wide.</summary>
    private static float* SharedBlock(ref Job j, int chunk) => j.SharedV + (long)chunk * Positions * ((long)j.Shape.Channels * j.ChunkTiles + RowSlack);

    /// <summary>Pads the channels of slice <paramref name="item"/> and transforms them for every chunk into the shared input.</summary>
    private static void PadAndTransform<TG, TVG, TT, TVT>(void* state, int item, int thread)
        where TG : struct, IVecOps<TVG> where TVG : struct where TT : struct, IVecOps<TVT> where TVT : struct
    {
        PadChannels<TG, TVG>(state, item, thread);
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int c0 = (int)((long)item * j.Shape.Channels / j.PadSlices), c1 = (int)((long)(item + 1) * j.Shape.Channels / j.PadSlices);
        for (int chunk = 0, chunks = Chunks(j.Shape.Tiles, j.ChunkTiles); chunk < chunks; chunk++)
        {
            var (t0, t1, width, sliceV) = ChunkLayout(ref j, chunk, TG.Count);
            TransformInput<TT, TVT>(ref j, SharedBlock(ref j, chunk), sliceV, t0, t1, width, c0, c1);
        }
    }

    private static int Chunks(int tiles, int chunkTiles) => (tiles + chunkTiles - 1) / chunkTiles;

    /// <summary>
    /// For the channels of slice <paramref name="item"/>: padded row py holds input row py - pad, split into its even
    /// columns (even[j] = x[2 j - pad]) and odd ones (odd[j] = x[2 j + 1 - pad]), zero outside the map. Each row is
    /// first copied into a zero-padded line, which is then split with whole vectors: splitting in place needs 2 vectors
    /// of input from an odd column, which a 32-wide row with padding 1 never has, and the scalar split took a sixth of
    /// the 192 -> 96 convolution at 32x32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadChannels<TOps, TV>(void* state, int item, int thread) where TOps : struct, IVecOps<TV> where TV : struct
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        var s = j.Shape;
        int lanes = TOps.Count, rs = s.RowStride, pad = s.Padding;
        int c0 = (int)((long)item * s.Channels / j.PadSlices), c1 = (int)((long)(item + 1) * s.Channels / j.PadSlices);
        float* line = KernelIsa.ThreadPointer(2 * rs);
        int copied = Math.Clamp(2 * rs - pad, 0, s.Width); // the input columns that land in the line
        for (int ci = c0; ci < c1; ci++)
        {
            float* even = j.Padded + (long)ci * s.PaddedRows * 2 * rs;
            for (int py = 0; py < s.PaddedRows; py++, even += 2 * rs)
            {
                float* odd = even + rs;
                int iy = py - pad;
                if ((uint)iy >= (uint)s.Height)
                {
                    new Span<float>(even, 2 * rs).Clear();
                    continue;
                }
                float* src = j.Input + ((long)ci * s.Height + iy) * s.Width;
                new Span<float>(line, Math.Min(pad, 2 * rs)).Clear();
                int c = 0;
                for (; c + lanes <= copied; c += lanes) TOps.Store(line + pad + c, TOps.Load(src + c));
                for (; c < copied; c++) line[pad + c] = src[c];
                new Span<float>(line + pad + copied, 2 * rs - pad - copied).Clear();
                for (int x = 0; x < rs; x += lanes) TOps.Deinterleave(line + 2 * x, even + x, odd + x);
            }
        }
    }

    /// <summary>One chunk of tiles x one group of output channels: input transform, 16 GEMMs, output transform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Item<TG, TVG, TT, TVT, TAct>(void* state, int item, int thread)
        where TG : struct, IVecOps<TVG> where TVG : struct where TT : struct, IVecOps<TVT> where TVT : struct
        where TAct : struct, IActivation
    {
        ref Job j = ref Unsafe.AsRef<Job>(state);
        int chunk = item / j.Groups, g = item - chunk * j.Groups;
        int m0 = g * j.Panels / j.Groups * Gemm.Mr, m1 = Math.Min(j.OutChannels, (g + 1) * j.Panels / j.Groups * Gemm.Mr);
        var (t0, t1, width, sliceV) = ChunkLayout(ref j, chunk, TG.Count);
        int inC = j.Shape.Channels;
        long sliceM = (long)(m1 - m0) * width + RowSlack;
        float* v, m;
        if (j.SharedV != null)
        {
            v = SharedBlock(ref j, chunk);
            m = KernelIsa.ThreadPointer(checked((int)(Positions * sliceM)));
        }
        else
        {
            v = KernelIsa.ThreadPointer(checked((int)(Positions * (sliceV + sliceM))));
            m = v + Positions * sliceV;
            TransformInput<TT, TVT>(ref j, v, sliceV, t0, t1, width, 0, inC);
        }

        var unused = default(RowMajorPacker);
        for (int xi = 0; xi < Positions; xi++)
            Gemm.Chunk<TG, TVG, Identity, RowMajorPacker>(ref unused, j.PackedW + (long)xi * j.WeightSlice, null,
                m + xi * sliceM - (long)m0 * width, null, inC, j.OutChannels, width, v + xi * sliceV, j.ForceMr4, 0, width, m0, m1,
                prepacked: true);
        TransformOutput<TT, TVT, TAct>(ref j, m, sliceM, t0, t1, width, m0, m1);
    }
}
