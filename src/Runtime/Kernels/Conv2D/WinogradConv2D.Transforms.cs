using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Kernels;

// Winograd F(2x2, 3x3)'s input and output transforms (additions only), one tile per vector lane; the scheduling, the
// weight transform and the padding are in WinogradConv2D.cs.
public static unsafe partial class WinogradConv2D
{
    /// <summary>
    /// V[xi][ci][t - t0] = (B^T d B)[xi] of tile t's 4x4 input d, for t in [t0, t1), channels [c0, c1). Tiles go row
    /// segment by row segment in ascending order, so a vector's lanes past its segment (stored anyway) are overwritten
    /// by the next segment; a vector that would reach past its channel's row (another thread's, in the shared mode)
    /// goes through a buffer instead. Lanes past the chunk up to the GEMM width are then zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformInput<TOps, TV>(ref Job j, float* v, long slice, int t0, int t1, int width, int c0, int c1)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        var s = j.Shape;
        int lanes = TOps.Count, rs = s.RowStride;
        float* buffer = stackalloc float[Positions * 16];
        for (int ci = c0; ci < c1; ci++)
        {
            float* channel = j.Padded + (long)ci * s.PaddedRows * 2 * rs;
            float* dst = v + (long)ci * width;
            for (int t = t0; t < t1;)
            {
                int ty = t / s.TilesX, tx = t - ty * s.TilesX, n = Math.Min(s.TilesX - tx, t1 - t);
                float* rows = channel + (long)2 * ty * 2 * rs + tx;
                for (int x = 0; x < n; x += lanes)
                {
                    int at = t - t0 + x, room = width - at;
                    if (room >= lanes)
                    {
                        InputTile<TOps, TV>(rows + x, rs, dst + at, slice);
                        continue;
                    }
                    InputTile<TOps, TV>(rows + x, rs, buffer, lanes);
                    for (int xi = 0; xi < Positions; xi++)
                        for (int i = 0; i < room; i++) dst[at + xi * slice + i] = buffer[xi * lanes + i];
                }
                t += n;
            }
        }
        int count = t1 - t0;
        if (count < width)
            for (int xi = 0; xi < Positions; xi++)
                for (int ci = c0; ci < c1; ci++)
                    new Span<float>(v + xi * slice + (long)ci * width + count, width - count).Clear();
    }

    /// <summary>
    /// B^T d B for one vector of tiles: d[r][c] is padded row r at column c (even[0], odd[0], even[1], odd[1]);
    /// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], applied to the columns, then the rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTile<TOps, TV>(float* even, int rs, float* dst, long slice)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        Columns<TOps, TV>(even + 2 * rs, rs, out var h10, out var h11, out var h12, out var h13);
        Columns<TOps, TV>(even + 4 * rs, rs, out var h20, out var h21, out var h22, out var h23);
        TOps.Store(dst + 4 * slice, TOps.Add(h10, h20));
        TOps.Store(dst + 5 * slice, TOps.Add(h11, h21));
        TOps.Store(dst + 6 * slice, TOps.Add(h12, h22));
        TOps.Store(dst + 7 * slice, TOps.Add(h13, h23));
        TOps.Store(dst + 8 * slice, TOps.Sub(h20, h10));
        TOps.Store(dst + 9 * slice, TOps.Sub(h21, h11));
        TOps.Store(dst + 10 * slice, TOps.Sub(h22, h12));
        TOps.Store(dst + 11 * slice, TOps.Sub(h23, h13));
        Columns<TOps, TV>(even, rs, out var h00, out var h01, out var h02, out var h03);
        TOps.Store(dst, TOps.Sub(h00, h20));
        TOps.Store(dst + slice, TOps.Sub(h01, h21));
        TOps.Store(dst + 2 * slice, TOps.Sub(h02, h22));
        TOps.Store(dst + 3 * slice, TOps.Sub(h03, h23));
        Columns<TOps, TV>(even + 6 * rs, rs, out var h30, out var h31, out var h32, out var h33);
        TOps.Store(dst + 12 * slice, TOps.Sub(h10, h30));
        TOps.Store(dst + 13 * slice, TOps.Sub(h11, h31));
        TOps.Store(dst + 14 * slice, TOps.Sub(h12, h32));
        TOps.Store(dst + 15 * slice, TOps.Sub(h13, h33));
    }

    /// <summary>One input row times B: (d0 - d2, d1 + d2, d2 - d1, d1 - d3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns<TOps, TV>(float* even, int rs, out TV h0, out TV h1, out TV h2, out TV h3)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        TV d0 = TOps.Load(even), d1 = TOps.Load(even + rs), d2 = TOps.Load(even + 1), d3 = TOps.Load(even + rs + 1);
        h0 = TOps.Sub(d0, d2);
        h1 = TOps.Add(d1, d2);
        h2 = TOps.Sub(d2, d1);
        h3 = TOps.Sub(d1, d3);
    }

    /// <summary>
    /// out[co] rows 2 ty, 2 ty + 1 = act(bias + A^T M A) for each tile of the chunk, A^T = [1 1 1 0; 0 1 -1 -1]; the two
    /// outputs of a row are interleaved back (tile lanes are every other pixel), clipped at odd map edges.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformOutput<TOps, TV, TAct>(ref Job j, float* m, long slice, int t0, int t1, int width, int m0, int m1)
        where TOps : struct, IVecOps<TV> where TV : struct where TAct : struct, IActivation
    {
        var s = j.Shape;
        int lanes = TOps.Count, outW = s.OutWidth, outPixels = s.OutHeight * outW;
        float* row = stackalloc float[2 * 16];
        for (int co = m0; co < m1; co++)
        {
            TV bias = TOps.Broadcast(j.Bias == null ? 0f : j.Bias[co]);
            float* src = m + (long)(co - m0) * width;
            float* output = j.Output + (long)co * outPixels;
            for (int t = t0; t < t1;)
            {
                int ty = t / s.TilesX, tx = t - ty * s.TilesX, n = Math.Min(s.TilesX - tx, t1 - t);
                for (int x = 0; x < n; x += lanes)
                {
                    float* p = src + (t - t0) + x;
                    Rows<TOps, TV>(p, slice, 0, out var a00, out var a01);
                    Rows<TOps, TV>(p, slice, 1, out var a10, out var a11);
                    Rows<TOps, TV>(p, slice, 2, out var a20, out var a21);
                    Rows<TOps, TV>(p, slice, 3, out var a30, out var a31);
                    TV y00 = TOps.Act<TAct>(TOps.Add(TOps.Add(TOps.Add(a00, a10), a20), bias));
                    TV y01 = TOps.Act<TAct>(TOps.Add(TOps.Add(TOps.Add(a01, a11), a21), bias));
                    TV y10 = TOps.Act<TAct>(TOps.Add(TOps.Sub(TOps.Sub(a10, a20), a30), bias));
                    TV y11 = TOps.Act<TAct>(TOps.Add(TOps.Sub(TOps.Sub(a11, a21), a31), bias));
                    int ox = 2 * (tx + x), oy = 2 * ty;
                    int valid = Math.Min(2 * Math.Min(lanes, n - x), outW - ox);
                    StoreRow<TOps, TV>(y00, y01, output + (long)oy * outW + ox, valid, row);
                    if (oy + 1 < s.OutHeight) StoreRow<TOps, TV>(y10, y11, output + (long)(oy + 1) * outW + ox, valid, row);
                }
                t += n;
            }
        }
    }

    /// <summary>Row a of M times A: (M[a][0] + M[a][1] + M[a][2], M[a][1] - M[a][2] - M[a][3]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<TOps, TV>(float* p, long slice, int a, out TV r0, out TV r1)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        p += 4 * a * slice;
        TV m1 = TOps.Load(p + slice), m2 = TOps.Load(p + 2 * slice);
        r0 = TOps.Add(TOps.Add(TOps.Load(p), m1), m2);
        r1 = TOps.Sub(TOps.Sub(m1, m2), TOps.Load(p + 3 * slice));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TOps, TV>(TV even, TV odd, float* dst, int valid, float* row)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (valid == 2 * TOps.Count)
        {
            TOps.Interleave(even, odd, dst);
            return;
        }
        TOps.Interleave(even, odd, row);
        for (int i = 0; i < valid; i++) dst[i] = row[i];
    }
}
