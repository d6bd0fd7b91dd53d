namespace MobileViT.Compiled.Generator.Model;

/// <summary>The files and MSBuild metadata of one &lt;MobileViTModel&gt; item, as text: the generator's only input.</summary>
internal sealed record ModelInput(
    string Key,
    string ModelName,
    string ClassName,
    string Namespace,
    string ResourceName,
    string ConfigPath,
    string? ConfigText,
    string ManifestPath,
    string? ManifestText,
    string RootNamespace,
    string Precision = "");
