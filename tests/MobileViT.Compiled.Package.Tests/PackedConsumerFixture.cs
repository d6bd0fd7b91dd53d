using System.Text;

namespace MobileViT.Compiled.Package.Tests;

/// <summary>
/// Once per test class: packs MobileViT.Compiled from this repository into a temporary folder, then creates, restores,
/// builds and runs a consumer project in another temporary folder outside the repository (so no Directory.Build.props,
/// Directory.Packages.props or global.json of the repository applies), restoring into an isolated NuGet package folder
/// so that a stale cached MobileViT.Compiled 0.1.0 can never be used. Every step is recorded, and the first failing
/// step stops the rest; the tests then report what they can.
/// Set MOBILEVIT_KEEP_PACKAGE_TEST=1 to keep the temporary folder for inspection.
/// </summary>
public sealed class PackedConsumerFixture : IDisposable
{
    public const string ModelName = "mobilevit-xx-small-fashion";
    public const string ClassName = "FashionNet";
    public const string ConsumerName = "Consumer";
    public const string Configuration = "Release";

    public PackedConsumerFixture()
    {
        RepoRoot = FindRepoRoot();
        Root = Path.Combine(Path.GetTempPath(), "mobilevit-package-test-" + Guid.NewGuid().ToString("N")[..12]);
        PackagesDirectory = Path.Combine(Root, "packages");
        NuGetPackagesDirectory = Path.Combine(Root, "nuget-packages");
        ConsumerDirectory = Path.Combine(Root, "consumer");
        ModelDirectory = Path.Combine(ConsumerDirectory, "models", ModelName);
        InputPath = Path.Combine(Root, "input.bin");
        Directory.CreateDirectory(Root);

        try
        {
            Pack = ProcessRunner.Run(ProcessRunner.DotNet,
                ["pack", Path.Combine(RepoRoot, "src", "Runtime", "MobileViT.Compiled.Runtime.csproj"),
                 "-c", Configuration, "-o", PackagesDirectory, "-nodeReuse:false", "-p:UseSharedCompilation=false"],
                RepoRoot);
            Log.AppendLine(Pack.ToString());
            if (!Pack.Succeeded) return;
            PackagePath = Directory.GetFiles(PackagesDirectory, "MobileViT.Compiled.*.nupkg").SingleOrDefault();
            if (PackagePath is null) return;
            PackageVersion = Path.GetFileNameWithoutExtension(PackagePath)["MobileViT.Compiled.".Length..];

            CreateConsumer();

            // Only the package's MSBuild logic, without compiling: what reaches the compiler, even while the
            // generator cannot yet compile the model.
            Prepare = ProcessRunner.Run(ProcessRunner.DotNet,
                ["msbuild", ConsumerProject, "-restore", "-t:MobileViTPrepareModels", "-p:Configuration=" + Configuration,
                 "-getItem:EmbeddedResource", "-getItem:AdditionalFiles", "-nodeReuse:false"],
                ConsumerDirectory, ConsumerEnvironment);
            Log.AppendLine(Prepare.ToString());

            Build = ProcessRunner.Run(ProcessRunner.DotNet,
                ["build", ConsumerProject, "-c", Configuration, "-nodeReuse:false", "-p:UseSharedCompilation=false"],
                ConsumerDirectory, ConsumerEnvironment);
            Log.AppendLine(Build.ToString());
            if (!Build.Succeeded) return;

            Run = ProcessRunner.Run(ProcessRunner.DotNet, [ConsumerAssembly, InputPath], ConsumerDirectory,
                ConsumerEnvironment, TimeSpan.FromMinutes(2));
            Log.AppendLine(Run.ToString());
        }
        catch (Exception e)
        {
            SetupException = e;
            Log.AppendLine("*** setup threw: " + e);
        }
        finally
        {
            File.WriteAllText(Path.Combine(Root, "log.txt"), Log.ToString());
        }
    }

    public string RepoRoot { get; }
    public string Root { get; }
    public string PackagesDirectory { get; }
    public string NuGetPackagesDirectory { get; }
    public string ConsumerDirectory { get; }
    public string ConsumerProject => Path.Combine(ConsumerDirectory, ConsumerName + ".csproj");
    public string ConsumerAssembly => Path.Combine(ConsumerDirectory, "bin", Configuration, "net10.0", ConsumerName + ".dll");
    public string IntermediateDirectory => Path.Combine(ConsumerDirectory, "obj", Configuration, "net10.0");
    public string ModelDirectory { get; }
    public string InputPath { get; }
    public string FixtureModelDirectory => Path.Combine(RepoRoot, "tests", "fixtures", "models", ModelName);
    public string ReferencePath => Path.Combine(FixtureModelDirectory, "reference.safetensors");

    public string? PackagePath { get; private set; }
    public string? PackageVersion { get; private set; }
    public ProcessResult? Pack { get; }
    public ProcessResult? Prepare { get; }
    public ProcessResult? Build { get; }
    public ProcessResult? Run { get; }
    public Exception? SetupException { get; }

    /// <summary>Everything that ran, in order, with its output: attached to every failure message.</summary>
    public StringBuilder Log { get; } = new();

    public IReadOnlyDictionary<string, string?> ConsumerEnvironment => new Dictionary<string, string?>
    {
        ["NUGET_PACKAGES"] = NuGetPackagesDirectory,
    };

    private void CreateConsumer()
    {
        Directory.CreateDirectory(ModelDirectory);
        File.Copy(Path.Combine(FixtureModelDirectory, "config.json"), Path.Combine(ModelDirectory, "config.json"));
        File.Copy(Path.Combine(FixtureModelDirectory, "model.safetensors"), Path.Combine(ModelDirectory, "model.safetensors"));

        // Empty Directory.Build.* files stop MSBuild's upward search, so nothing in the temp folder's parents applies.
        File.WriteAllText(Path.Combine(ConsumerDirectory, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(ConsumerDirectory, "Directory.Build.targets"), "<Project />\n");

        File.WriteAllText(Path.Combine(ConsumerDirectory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{NuGetPackagesDirectory}" />
              </config>
              <packageSources>
                <clear />
                <add key="mobilevit-local" value="{PackagesDirectory}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);

        File.WriteAllText(ConsumerProject, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MobileViT.Compiled" Version="{PackageVersion}" />
                <MobileViTModel Include="models/{ModelName}" ClassName="{ClassName}" />
                <MobileViTModel Include="models/{ModelName}" ClassName="{ClassName}Int8" Precision="int8" />
              </ItemGroup>
            </Project>
            """);

        // A classic Main inside the project's root namespace finds FashionNet whether the generator puts it in the
        // root namespace or the global one.
        File.WriteAllText(Path.Combine(ConsumerDirectory, "Program.cs"), $$"""
            using System.Buffers.Binary;
            using System.Globalization;

            namespace {{ConsumerName}};

            public static class Program
            {
                public static int Main(string[] args)
                {
                    byte[] bytes = File.ReadAllBytes(args[0]);
                    var input = new float[{{ClassName}}.InputChannels * {{ClassName}}.InputHeight * {{ClassName}}.InputWidth];
                    if (bytes.Length != 4 * input.Length)
                    {
                        Console.Error.WriteLine($"expected {4 * input.Length} bytes of float32 input, got {bytes.Length}");
                        return 2;
                    }
                    for (int i = 0; i < input.Length; i++)
                        input[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));

                    using var model = {{ClassName}}.Create();
                    var output = new float[{{ClassName}}.OutputLength];
                    model.Run(input, output);
                    foreach (float logit in output)
                        Console.WriteLine(logit.ToString("R", CultureInfo.InvariantCulture));
                    Console.WriteLine("labels: " + string.Join("|", {{ClassName}}.Labels));
                    using var int8 = {{ClassName}}Int8.Create();
                    int8.Run(input, output);
                    Console.WriteLine("int8: " + {{ClassName}}Int8.Precision + " " + string.Join(" ", output.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
                    return 0;
                }
            }
            """);

        var (shape, data) = SafetensorsFile.ReadF32(ReferencePath, "input.test16");
        int imageLength = shape[1] * shape[2] * shape[3];
        var bytes = new byte[4 * imageLength];
        for (int i = 0; i < imageLength; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
        File.WriteAllBytes(InputPath, bytes);
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "MobileViT.Compiled.sln")))
                return directory.FullName;
        throw new InvalidOperationException($"No MobileViT.Compiled.sln above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("MOBILEVIT_KEEP_PACKAGE_TEST") == "1") return;
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
