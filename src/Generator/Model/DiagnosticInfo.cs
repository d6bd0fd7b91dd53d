using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MobileViT.Compiled.Generator.Helpers;

namespace MobileViT.Compiled.Generator.Model;

/// <summary>
/// A place in a model folder's file as plain equatable data: the characters [Start, Start + Length) and their 1-based
/// line and column span. MSBuild prints the file and the start in front of the message, so messages leave them out.
/// </summary>
internal readonly record struct TextLocation(int Start, int Length, int Line, int Column, int EndLine, int EndColumn)
{
    /// <summary>The start of the file: for what has no place of its own (a missing field or tensor, an unreadable file).</summary>
    public static TextLocation FileStart => new(0, 0, 1, 1, 1, 1);

    /// <summary>Where a JSON value is; <paramref name="prefix"/> characters precede the JSON text on its first line.</summary>
    public static TextLocation Of(JsonValue? value, int prefix = 0)
    {
        if (value is null) return FileStart;
        int FileColumn(int line, int column) => line == 1 ? prefix + column : column;
        return new TextLocation(prefix + value.Start, value.End - value.Start, value.Line, FileColumn(value.Line, value.Column),
            value.EndLine, FileColumn(value.EndLine, value.EndColumn));
    }

    /// <summary>One character at a position (where a parser stopped).</summary>
    public static TextLocation At(int position, int line, int column, int prefix = 0)
        => new(prefix + position, 0, line, line == 1 ? prefix + column : column, line, line == 1 ? prefix + column : column);
}

/// <summary>A diagnostic as plain equatable data (no Location, no symbols), turned into a Diagnostic only when reported.</summary>
internal sealed record DiagnosticInfo(string Id, string FilePath, TextLocation Location, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic()
    {
        var descriptor = DiagnosticCatalog.Find(Id);
        var start = new LinePosition(Location.Line - 1, Location.Column - 1);
        var end = new LinePosition(Location.EndLine - 1, Location.EndColumn - 1);
        var location = FilePath.Length == 0
            ? Microsoft.CodeAnalysis.Location.None
            : Microsoft.CodeAnalysis.Location.Create(FilePath, new TextSpan(Location.Start, Location.Length), new LinePositionSpan(start, end));
        return Diagnostic.Create(descriptor, location, Arguments.Items.CastArray<object>().ToArray());
    }

    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string file, TextLocation location, params object[] arguments)
    {
        var text = new string[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
            text[i] = Convert.ToString(arguments[i], System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return new DiagnosticInfo(descriptor.Id, file, location, text.ToEquatableArray());
    }
}

internal static class DiagnosticCatalog
{
    public static DiagnosticDescriptor Find(string id)
    {
        foreach (var field in typeof(DiagnosticDescriptors).GetFields())
            if (field.GetValue(null) is DiagnosticDescriptor d && d.Id == id) return d;
        throw new ArgumentException("unknown diagnostic " + id);
    }
}
