using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MobileViT.Compiled.Generator.Helpers;

namespace MobileViT.Compiled.Generator.Model;

/// <summary>A diagnostic as plain equatable data (no Location, no symbols), turned into a Diagnostic only when reported.</summary>
internal sealed record DiagnosticInfo(string Id, string FilePath, int Line, int Column, EquatableArray<string> Arguments)
{
    public Diagnostic ToDiagnostic()
    {
        var descriptor = DiagnosticCatalog.Find(Id);
        var position = new LinePosition(Math.Max(0, Line - 1), Math.Max(0, Column - 1));
        var location = FilePath.Length == 0
            ? Location.None
            : Location.Create(FilePath, default, new LinePositionSpan(position, position));
        return Diagnostic.Create(descriptor, location, Arguments.Items.CastArray<object>().ToArray());
    }

    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string file, int line, int column, params object[] arguments)
    {
        var text = new string[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
            text[i] = Convert.ToString(arguments[i], System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return new DiagnosticInfo(descriptor.Id, file, line, column, text.ToEquatableArray());
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
