using System;
using System.Collections.Generic;
using System.Linq;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Lowering;

/// <summary>
/// Pass 3: a fixed activation memory plan. Every arena value gets an offset so that values alive at the same
/// step never overlap (greedy first-fit, largest first, over live intervals measured in steps); views share
/// their parent's storage. Kernel scratch (im2col, attention scores) is one separate region sized for the
/// largest need, as it never outlives a step.
/// </summary>
internal static class MemoryPlanner
{
    private const int Alignment = 16; // floats: 64 bytes, one cache line

    public static (int[] Offsets, int ArenaLength, int ScratchLength) Plan(IReadOnlyList<LayerStep> steps, IReadOnlyList<ValueInfo> values)
    {
        int Root(int v)
        {
            while (values[v].Parent >= 0) v = values[v].Parent;
            return v;
        }

        var first = Enumerable.Repeat(int.MaxValue, values.Count).ToArray();
        var last = Enumerable.Repeat(-1, values.Count).ToArray();
        foreach (var step in steps)
            foreach (int v in new[] { step.Input, step.Residual, step.Output })
            {
                if (v < 0) continue;
                int root = Root(v);
                first[root] = Math.Min(first[root], step.Index);
                last[root] = Math.Max(last[root], step.Index);
            }

        var rootOffsets = new long[values.Count];
        var placed = new List<int>();
        long arena = 0;
        var order = values.Where(v => v.Parent < 0 && v.Id > ValueInfo.Output && last[v.Id] >= 0)
            .OrderByDescending(v => v.Shape.Length).ThenBy(v => v.Id);
        foreach (var value in order)
        {
            long size = Align(value.Shape.Length);
            var conflicts = placed
                .Where(p => first[p] <= last[value.Id] && first[value.Id] <= last[p])
                .Select(p => (Start: rootOffsets[p], End: rootOffsets[p] + Align(values[p].Shape.Length)))
                .OrderBy(r => r.Start);
            long offset = 0;
            foreach (var (start, end) in conflicts)
            {
                if (offset + size <= start) break;
                offset = Math.Max(offset, end);
            }
            rootOffsets[value.Id] = offset;
            placed.Add(value.Id);
            arena = Math.Max(arena, offset + size);
        }

        if (arena > int.MaxValue)
            throw new UnsupportedShapeException($"the activations need {arena} floats, more than one .NET array can hold");
        var offsets = new int[values.Count];
        foreach (var value in values)
        {
            long offset = 0;
            for (int v = value.Id; v >= 0; v = values[v].Parent)
                offset += values[v].Parent >= 0 ? values[v].ParentOffset : rootOffsets[v];
            offsets[value.Id] = checked((int)offset);
        }

        long scratch = 0;
        foreach (var step in steps)
        {
            if (step.Kind == OpKind.Conv2D && step.Int8)
                scratch = Math.Max(scratch, QuantizedConvScratch(step));
            else if (step.Kind == OpKind.Conv2D)
                scratch = Math.Max(scratch, (long)step.InShape.Channels * step.KernelSize * step.KernelSize * step.OutShape.Pixels);
            else if (step.Kind == OpKind.WinogradConv2D)
                scratch = Math.Max(scratch, WinogradScratch(step));
            else if (step.Kind == OpKind.PatchAttention)
                scratch = Math.Max(scratch, AttentionScratch(step));
            else if (step.Kind == OpKind.SeparableAttention)
                scratch = Math.Max(scratch, (long)step.OutShape.Pixels / (step.PatchSize * step.PatchSize) + step.OutShape.Channels);
        }
        if (scratch > int.MaxValue)
            throw new UnsupportedShapeException($"the kernel scratch needs {scratch} floats, more than one .NET array can hold");
        return (offsets, (int)arena, (int)scratch);
    }

    /// <summary>
    /// The runtime's PatchAttention.ScratchLength: a block of scores (min(tokens, 64) x tokens), the softmax
    /// denominators, and Q, K, V of every patch offset with rows of tokens + 16 floats.
    /// </summary>
    public static long AttentionScratch(LayerStep step)
    {
        long offsets = step.PatchSize * step.PatchSize;
        long tokens = step.OutShape.Pixels / offsets;
        long headDim = step.OutShape.Channels / step.Heads;
        return Math.Min(tokens, 64) * tokens + tokens + offsets * 3 * headDim * (tokens + 16);
    }

    /// <summary>
    /// The runtime's WinogradConv2D.ScratchLength: the input zero-padded and split into even and odd columns (rows of
    /// 2 x (tiles across + 16, rounded up to 16) floats, 2 x (tiles down) + 2 rows per channel), then the transformed input of every
    /// tile, 16 x (channels + 16) x (tiles rounded up to 16), for maps of at most 256 tiles.
    /// </summary>
    public static long WinogradScratch(LayerStep step)
    {
        long tilesY = (step.OutShape.Height + 1) / 2, tilesX = (step.OutShape.Width + 1) / 2;
        long channels = step.InShape.Channels;
        long rowStride = (tilesX + 16 + 15) / 16 * 16;
        long tiles = tilesY * tilesX;
        return channels * (2 * tilesY + 2) * 2 * rowStride + (tiles <= 256 ? 16 * (channels + 16) * ((tiles + 15) / 16 * 16) : 0);
    }

    /// <summary>
    /// The runtime's QuantizedConv2D.ScratchLength: the zero-bordered input and its per-pixel min and max, (C + 2) x (H + 2 pad) x (W + 2 pad) floats, then
    /// the unfolded input packed in bytes, ceil(C k k / 4) quads x the pixels rounded up to 16, 4 bytes each (one float),
    /// then a scale and a zero point per padded pixel.
    /// </summary>
    public static long QuantizedConvScratch(LayerStep step)
    {
        long padded = (step.InShape.Channels + 2L) * (step.InShape.Height + 2 * step.Padding) * (step.InShape.Width + 2 * step.Padding);
        long quads = ((long)step.InShape.Channels * step.KernelSize * step.KernelSize + 3) / 4;
        long pixels = (step.OutShape.Pixels + 15) / 16 * 16;
        return padded + quads * pixels + 2 * pixels;
    }

    private static long Align(long length) => (length + Alignment - 1) / Alignment * Alignment;
}
