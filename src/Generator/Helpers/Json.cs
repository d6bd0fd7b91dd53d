using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MobileViT.Compiled.Generator.Helpers;

/// <summary>A parsed JSON value with where it is in the text, for diagnostics.</summary>
internal abstract class JsonValue
{
    /// <summary>Line and column (1-based) where the value starts.</summary>
    public int Line { get; internal set; }
    public int Column { get; internal set; }

    /// <summary>Line and column (1-based) just after the value.</summary>
    public int EndLine { get; internal set; }
    public int EndColumn { get; internal set; }

    /// <summary>The value's characters: [Start, End) of the text.</summary>
    public int Start { get; internal set; }
    public int End { get; internal set; }

    public abstract string KindName { get; }
}

internal sealed class JsonObject : JsonValue
{
    public List<KeyValuePair<string, JsonValue>> Members { get; } = new();
    public override string KindName => "object";

    /// <summary>The last member with this name (JSON parsers keep the last of duplicates), or null.</summary>
    public JsonValue? Get(string name)
    {
        for (int i = Members.Count - 1; i >= 0; i--)
            if (Members[i].Key == name) return Members[i].Value;
        return null;
    }
}

internal sealed class JsonArray : JsonValue
{
    public List<JsonValue> Items { get; } = new();
    public override string KindName => "array";
}

internal sealed class JsonString : JsonValue
{
    public JsonString(string value) => Value = value;
    public string Value { get; }
    public override string KindName => "string";
}

internal sealed class JsonNumber : JsonValue
{
    public JsonNumber(string text) => Text = text;
    public string Text { get; }
    public override string KindName => "number";
    public double AsDouble => double.Parse(Text, NumberStyles.Float, CultureInfo.InvariantCulture);
    public bool TryGetInt64(out long value) => long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}

internal sealed class JsonLiteral : JsonValue
{
    public JsonLiteral(bool? value) => Value = value;
    /// <summary>true, false, or null for JSON null.</summary>
    public bool? Value { get; }
    public override string KindName => Value is null ? "null" : "boolean";
}

internal sealed class JsonParseException : Exception
{
    public JsonParseException(string message, int line, int column, int position) : base(message)
    {
        Line = line;
        Column = column;
        Position = position;
    }

    public int Line { get; }
    public int Column { get; }

    /// <summary>The character where parsing stopped.</summary>
    public int Position { get; }
}

/// <summary>
/// A small strict JSON parser (RFC 8259) for config.json and safetensors headers. The generator targets
/// netstandard2.0 and cannot carry System.Text.Json into the compiler, and it needs positions for diagnostics.
/// Bounded: nesting depth is limited, and nothing is allocated from a length read out of the input.
/// </summary>
internal sealed class JsonParser
{
    private const int MaxDepth = 64;
    private readonly string _text;
    private int _position;
    private int _line = 1;
    private int _lineStart;

    private JsonParser(string text) => _text = text;

    public static JsonValue Parse(string text)
    {
        var parser = new JsonParser(text);
        parser.SkipWhitespace();
        var value = parser.ParseValue(0);
        parser.SkipWhitespace();
        if (parser._position != text.Length) throw parser.Error("unexpected text after the JSON value");
        return value;
    }

    private JsonParseException Error(string message)
        => new(message, _line, _position - _lineStart + 1, _position);

    private void SkipWhitespace()
    {
        while (_position < _text.Length)
        {
            char c = _text[_position];
            if (c == '\n') { _line++; _lineStart = _position + 1; }
            else if (c != ' ' && c != '\t' && c != '\r') return;
            _position++;
        }
    }

    private JsonValue ParseValue(int depth)
    {
        if (depth > MaxDepth) throw Error($"nesting deeper than {MaxDepth}");
        if (_position >= _text.Length) throw Error("unexpected end of input (truncated?)");
        int line = _line, column = _position - _lineStart + 1, start = _position;
        JsonValue value = _text[_position] switch
        {
            '{' => ParseObject(depth),
            '[' => ParseArray(depth),
            '"' => new JsonString(ParseString()),
            't' => ParseKeyword("true", new JsonLiteral(true)),
            'f' => ParseKeyword("false", new JsonLiteral(false)),
            'n' => ParseKeyword("null", new JsonLiteral(null)),
            char c when c == '-' || (c >= '0' && c <= '9') => ParseNumber(),
            char c => throw Error($"unexpected character '{c}'"),
        };
        value.Line = line;
        value.Column = column;
        value.Start = start;
        value.End = _position;
        value.EndLine = _line;
        value.EndColumn = _position - _lineStart + 1;
        return value;
    }

    private JsonValue ParseKeyword(string keyword, JsonValue value)
    {
        if (string.CompareOrdinal(_text, _position, keyword, 0, keyword.Length) != 0) throw Error($"invalid literal, expected '{keyword}'");
        _position += keyword.Length;
        return value;
    }

    private JsonObject ParseObject(int depth)
    {
        var result = new JsonObject();
        _position++;
        SkipWhitespace();
        if (Peek() == '}') { _position++; return result; }
        while (true)
        {
            SkipWhitespace();
            if (Peek() != '"') throw Error("expected a member name in quotes");
            string name = ParseString();
            SkipWhitespace();
            if (Peek() != ':') throw Error($"expected ':' after member name \"{name}\"");
            _position++;
            SkipWhitespace();
            result.Members.Add(new KeyValuePair<string, JsonValue>(name, ParseValue(depth + 1)));
            SkipWhitespace();
            char c = Peek();
            _position++;
            if (c == '}') return result;
            if (c != ',') { _position--; throw Error("expected ',' or '}' in object"); }
        }
    }

    private JsonArray ParseArray(int depth)
    {
        var result = new JsonArray();
        _position++;
        SkipWhitespace();
        if (Peek() == ']') { _position++; return result; }
        while (true)
        {
            SkipWhitespace();
            result.Items.Add(ParseValue(depth + 1));
            SkipWhitespace();
            char c = Peek();
            _position++;
            if (c == ']') return result;
            if (c != ',') { _position--; throw Error("expected ',' or ']' in array"); }
        }
    }

    private char Peek() => _position < _text.Length ? _text[_position] : throw Error("unexpected end of input (truncated?)");

    private string ParseString()
    {
        _position++; // opening quote
        var builder = new StringBuilder();
        while (true)
        {
            char c = Peek();
            _position++;
            if (c == '"') return builder.ToString();
            if (c < 0x20) { _position--; throw Error("control character in string"); }
            if (c != '\\') { builder.Append(c); continue; }
            char e = Peek();
            _position++;
            switch (e)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    if (_position + 4 > _text.Length) throw Error("truncated \\u escape");
                    if (!int.TryParse(_text.Substring(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        throw Error("invalid \\u escape");
                    builder.Append((char)code);
                    _position += 4;
                    break;
                default: _position--; throw Error($"invalid escape '\\{e}'");
            }
        }
    }

    private JsonNumber ParseNumber()
    {
        int start = _position;
        if (_text[_position] == '-') _position++;
        int digits = ReadDigits();
        if (digits == 0) throw Error("invalid number");
        if (_position < _text.Length && _text[_position] == '.')
        {
            _position++;
            if (ReadDigits() == 0) throw Error("invalid number: digits expected after '.'");
        }
        if (_position < _text.Length && (_text[_position] == 'e' || _text[_position] == 'E'))
        {
            _position++;
            if (_position < _text.Length && (_text[_position] == '+' || _text[_position] == '-')) _position++;
            if (ReadDigits() == 0) throw Error("invalid number: digits expected in exponent");
        }
        return new JsonNumber(_text.Substring(start, _position - start));
    }

    private int ReadDigits()
    {
        int start = _position;
        while (_position < _text.Length && _text[_position] >= '0' && _text[_position] <= '9') _position++;
        return _position - start;
    }
}
