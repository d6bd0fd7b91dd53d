using Microsoft.CodeAnalysis;

namespace MobileViT.Compiled.Generator;

/// <summary>
/// Every diagnostic the generator reports. One ID per problem, never renumbered. Each has a Location in the file at
/// fault (config.json, or model.safetensors with its header's position), which MSBuild prints as "file(line,col):" in
/// front of the message; so the message says only what is wrong, the field or tensor, and the value.
/// Documentation: docs/diagnostics/ID.md in the repository and in the package (no help link: no published address).
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MobileViT.Compiled";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ConfigMissing = Error("MVC001",
        "config.json missing", "the model folder has no readable config.json");

    public static readonly DiagnosticDescriptor ConfigNotJson = Error("MVC002",
        "config.json is not valid JSON", "config.json is not valid JSON: {0}");

    public static readonly DiagnosticDescriptor ConfigFieldMissing = Error("MVC003",
        "Required config field missing", "config.json has no '{0}', which a {1} model needs");

    public static readonly DiagnosticDescriptor ConfigFieldWrongType = Error("MVC004",
        "Config field has the wrong type", "config field '{0}' must be {1}, but is {2}");

    public static readonly DiagnosticDescriptor ConfigValueInvalid = Error("MVC005",
        "Config value out of range", "config field '{0}' has the value {1}: {2}");

    public static readonly DiagnosticDescriptor UnsupportedModel = Error("MVC006",
        "Unsupported model type or architecture", "{0} '{1}' is not supported: {2}");

    public static readonly DiagnosticDescriptor ManifestInvalid = Error("MVC007",
        "Weights file unreadable", "the weights file cannot be used: {0}");

    public static readonly DiagnosticDescriptor HeaderNotJson = Error("MVC008",
        "Safetensors header is not valid JSON", "the safetensors header is not valid JSON: {0}");

    public static readonly DiagnosticDescriptor TensorMissing = Error("MVC009",
        "Tensor missing", "tensor '{0}' is missing; the model described by config.json needs it with shape [{1}]");

    public static readonly DiagnosticDescriptor TensorShapeMismatch = Error("MVC010",
        "Tensor has the wrong shape", "tensor '{0}' has shape [{1}], but config.json implies [{2}]");

    public static readonly DiagnosticDescriptor TensorDTypeUnsupported = Error("MVC011",
        "Tensor dtype unsupported", "tensor '{0}' has dtype '{1}'; the model takes F32, F16 or BF16");

    public static readonly DiagnosticDescriptor TensorEntryInvalid = Error("MVC012",
        "Tensor entry invalid", "tensor '{0}': {1}");

    public static readonly DiagnosticDescriptor TensorDuplicate = Error("MVC013",
        "Duplicate tensor name", "tensor '{0}' appears more than once in the safetensors header");

    public static readonly DiagnosticDescriptor TensorUnused = Warning("MVC014",
        "Unused tensors", "{0} tensor(s) are not used by the model and are ignored, e.g. '{1}'");

    public static readonly DiagnosticDescriptor ClassNameInvalid = Error("MVC015",
        "Invalid or duplicate class name", "the class name '{0}' cannot be used: {1}");

    public static readonly DiagnosticDescriptor ConfigValueUnsupported = Error("MVC016",
        "Config value not supported", "config field '{0}' has the value {1}, which this compiler does not support: {2}");

    public static readonly DiagnosticDescriptor PrecisionUnsupported = Error("MVC018",
        "Precision not supported", "Precision '{0}' is not supported: use fp32 (the default) or int8");
}
