using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator;

/// <summary>
/// Every diagnostic the generator reports. One ID per problem, never renumbered; each message names the file,
/// the field or tensor, and the offending value. Documentation: docs/diagnostics/ID.md.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MobileViT.Compiled";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: $"https://github.com/mobilevit-compiled/mobilevit-compiled/blob/main/docs/diagnostics/{id}.md");

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true,
            helpLinkUri: $"https://github.com/mobilevit-compiled/mobilevit-compiled/blob/main/docs/diagnostics/{id}.md");

    public static readonly DiagnosticDescriptor ConfigMissing = Error("MVC001",
        "config.json missing", "{0}: the model folder has no readable config.json");

    public static readonly DiagnosticDescriptor ConfigNotJson = Error("MVC002",
        "config.json is not valid JSON", "{0}({1},{2}): config.json is not valid JSON: {3}");

    public static readonly DiagnosticDescriptor ConfigFieldMissing = Error("MVC003",
        "Required config field missing", "{0}: config.json has no '{1}', which a {2} model needs");

    public static readonly DiagnosticDescriptor ConfigFieldWrongType = Error("MVC004",
        "Config field has the wrong type", "{0}({1},{2}): config field '{3}' must be {4}, but is {5}");

    public static readonly DiagnosticDescriptor ConfigValueInvalid = Error("MVC005",
        "Config value out of range", "{0}({1},{2}): config field '{3}' has the value {4}: {5}");

    public static readonly DiagnosticDescriptor UnsupportedModel = Error("MVC006",
        "Unsupported model type or architecture", "{0}: {1} '{2}' is not supported: {3}");

    public static readonly DiagnosticDescriptor ManifestInvalid = Error("MVC007",
        "Weights file unreadable", "{0}: the weights file cannot be used: {1}");

    public static readonly DiagnosticDescriptor HeaderNotJson = Error("MVC008",
        "Safetensors header is not valid JSON", "{0}: the safetensors header is not valid JSON at line {1}, column {2}: {3}");

    public static readonly DiagnosticDescriptor TensorMissing = Error("MVC009",
        "Tensor missing", "{0}: tensor '{1}' is missing; the model described by config.json needs it with shape [{2}]");

    public static readonly DiagnosticDescriptor TensorShapeMismatch = Error("MVC010",
        "Tensor has the wrong shape", "{0}: tensor '{1}' has shape [{2}], but config.json implies [{3}]");

    public static readonly DiagnosticDescriptor TensorDTypeUnsupported = Error("MVC011",
        "Tensor dtype unsupported", "{0}: tensor '{1}' has dtype '{2}'; the model takes F32, F16 or BF16");

    public static readonly DiagnosticDescriptor TensorEntryInvalid = Error("MVC012",
        "Tensor entry invalid", "{0}: tensor '{1}': {2}");

    public static readonly DiagnosticDescriptor TensorDuplicate = Error("MVC013",
        "Duplicate tensor name", "{0}: tensor '{1}' appears more than once in the safetensors header");

    public static readonly DiagnosticDescriptor TensorUnused = Warning("MVC014",
        "Unused tensors", "{0}: {1} tensor(s) are not used by the model and are ignored, e.g. '{2}'");

    public static readonly DiagnosticDescriptor ClassNameInvalid = Error("MVC015",
        "Invalid or duplicate class name", "{0}: the class name '{1}' cannot be used: {2}");

    public static readonly DiagnosticDescriptor ConfigValueUnsupported = Error("MVC016",
        "Config value not supported", "{0}({1},{2}): config field '{3}' has the value {4}, which this compiler does not support: {5}");
}
