using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MobileViT.Compiled.Generator.Helpers;
using MobileViT.Compiled.Generator.Model;

namespace MobileViT.Compiled.Generator.Parsing;

/// <summary>
/// The text weights manifest the build writes for model.safetensors (src/Runtime/build/MobileViT.Compiled.targets):
/// a few "key: value" lines, then "header:" and the raw safetensors JSON header, or an "error:" line.
/// Validates the header as strictly as the runtime reader does.
/// </summary>
internal static class ManifestParser
{
    private const string Magic = "mobilevit-weights-manifest 1";

    /// <summary>The header's JSON starts after the file's 8-byte length: positions in model.safetensors are 8 further on.</summary>
    private const int HeaderOffset = 8;

    public static WeightsManifest? Parse(string manifestPath, string text, List<DiagnosticInfo> diagnostics)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? header = null;
        int position = 0;
        bool first = true;
        while (position < text.Length)
        {
            int end = text.IndexOf('\n', position);
            if (end < 0) end = text.Length;
            string line = text.Substring(position, end - position).TrimEnd('\r');
            position = end + 1;
            if (first)
            {
                first = false;
                if (line != Magic) return Fail(diagnostics, manifestPath, $"'{manifestPath}' is not a weights manifest (first line '{Truncate(line)}')");
                continue;
            }
            if (line == "header:")
            {
                header = position < text.Length ? text.Substring(position) : "";
                break;
            }
            int colon = line.IndexOf(':');
            if (colon > 0) fields[line.Substring(0, colon)] = line.Substring(colon + 1).Trim();
        }

        string weightsPath = fields.TryGetValue("file", out var f) ? f : manifestPath;
        if (fields.TryGetValue("error", out var error)) return Fail(diagnostics, weightsPath, error);
        if (header is null) return Fail(diagnostics, weightsPath, "the manifest has no header section");
        if (!fields.TryGetValue("length", out var lengthText) || !long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out long length)
            || !fields.TryGetValue("header_length", out var headerLengthText) || !long.TryParse(headerLengthText, NumberStyles.None, CultureInfo.InvariantCulture, out long headerLength))
            return Fail(diagnostics, weightsPath, "the manifest lacks the file length or the header length");
        if (headerLength > length - 8)
            return Fail(diagnostics, weightsPath, $"the header length {headerLength} is larger than the file ({length} bytes): truncated or not a safetensors file");
        long dataLength = length - 8 - headerLength;

        JsonValue root;
        try
        {
            root = JsonParser.Parse(header.TrimEnd('\0', ' ', '\n', '\r', '\t'));
        }
        catch (JsonParseException e)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeaderNotJson, weightsPath, TextLocation.At(e.Position, e.Line, e.Column, HeaderOffset), e.Message));
            return null;
        }
        if (root is not JsonObject entries)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeaderNotJson, weightsPath, TextLocation.Of(root, HeaderOffset), "the header is a JSON " + root.KindName + ", not an object"));
            return null;
        }

        int errorsBefore = diagnostics.Count;
        var tensors = new List<TensorEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in entries.Members)
        {
            if (member.Key == "__metadata__") continue;
            if (!seen.Add(member.Key))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorDuplicate, weightsPath, TextLocation.Of(member.Value, HeaderOffset), member.Key));
                continue;
            }
            var entry = ParseEntry(weightsPath, member.Key, member.Value, dataLength, diagnostics);
            if (entry is not null) tensors.Add(entry);
        }
        TensorEntry? previous = null;
        foreach (var entry in tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
                Entry(diagnostics, weightsPath, entry.Name, entry.Location, $"its data [{entry.Begin}, {entry.End}] overlaps tensor '{previous.Name}' [{previous.Begin}, {previous.End}]");
            previous = entry;
        }
        if (diagnostics.Count > errorsBefore) return null;
        string sha = fields.TryGetValue("sha256", out var s) ? s : "";
        return new WeightsManifest(weightsPath, length, sha, tensors.ToEquatableArray());
    }

    private static TensorEntry? ParseEntry(string path, string name, JsonValue value, long dataLength, List<DiagnosticInfo> diagnostics)
    {
        var at = TextLocation.Of(value, HeaderOffset);
        if (value is not JsonObject entry) return Entry(diagnostics, path, name, at, "its header entry is a JSON " + value.KindName + ", not an object");
        if (entry.Get("dtype") is not JsonString dtype) return Entry(diagnostics, path, name, at, "it has no string 'dtype'");
        int elementSize = DTypeSize(dtype.Value);
        if (elementSize == 0) return Entry(diagnostics, path, name, at, $"it has the unknown dtype '{Truncate(dtype.Value)}'");
        if (entry.Get("shape") is not JsonArray shapeArray || shapeArray.Items.Count > 8)
            return Entry(diagnostics, path, name, at, "it has no 'shape' array of at most 8 dimensions");
        var shape = new List<long>();
        long elements = 1;
        foreach (var d in shapeArray.Items)
        {
            if (d is not JsonNumber n || !n.TryGetInt64(out long dim) || dim < 0 || dim > int.MaxValue)
                return Entry(diagnostics, path, name, at, "its shape has the invalid dimension " + Describe(d));
            if (dim > 0 && elements > dataLength / dim)
                return Entry(diagnostics, path, name, at, $"its shape [{string.Join(", ", shapeArray.Items.Select(Describe))}] holds more elements than the file has data bytes");
            elements *= dim;
            shape.Add(dim);
        }
        if (entry.Get("data_offsets") is not JsonArray offsets || offsets.Items.Count != 2
            || offsets.Items[0] is not JsonNumber b || !b.TryGetInt64(out long begin) || begin < 0
            || offsets.Items[1] is not JsonNumber e || !e.TryGetInt64(out long end) || end < 0)
            return Entry(diagnostics, path, name, at, "it has no valid 'data_offsets' pair of non-negative integers");
        if (begin > end || end > dataLength)
            return Entry(diagnostics, path, name, at, $"its data_offsets [{begin}, {end}] lie outside the {dataLength} data bytes of the file");
        if (end - begin != elements * elementSize)
            return Entry(diagnostics, path, name, at, $"its data_offsets span {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtype.Value} needs {elements * elementSize}");
        return new TensorEntry(name, dtype.Value, shape.ToEquatableArray(), begin, end, at);
    }

    /// <summary>Size in bytes of one element of a safetensors dtype, or 0 when unknown.</summary>
    public static int DTypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    private static TensorEntry? Entry(List<DiagnosticInfo> diagnostics, string path, string name, TextLocation at, string problem)
    {
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TensorEntryInvalid, path, at, name, problem));
        return null;
    }

    private static WeightsManifest? Fail(List<DiagnosticInfo> diagnostics, string path, string problem)
    {
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ManifestInvalid, path, TextLocation.FileStart, problem));
        return null;
    }

    private static string Describe(JsonValue value) => value is JsonNumber n ? n.Text : value is JsonString s ? "\"" + Truncate(s.Value) + "\"" : value.KindName;

    private static string Truncate(string text) => text.Length > 60 ? text.Substring(0, 60) + "..." : text;
}
