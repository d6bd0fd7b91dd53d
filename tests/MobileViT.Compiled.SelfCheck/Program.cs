// mobilevit-selfcheck: the kernel tests (every kernel against its Reference twin on each accelerated ISA path) and
// the fixture-model accuracy tests of MobileViT.Compiled.Tests, run from a NativeAOT binary. One line per check,
// then "N passed, M failed"; exit code 0 only when nothing failed.
//   --quick                  every kernel check, one input of one model per architecture family (for emulators)
//   --expect-path TIER       TIER = Vector512 | Vector256 | Vector128 | not-scalar: check KernelInfo's report
//   --filter TEXT            only the checks whose name contains TEXT
//   --verbose                also print what the tests log
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using MobileViT.Compiled;
using MobileViT.Compiled.Kernels;
using MobileViT.Compiled.SelfCheck;
using MobileViT.Compiled.Tests.Kernels;
using MobileViT.Compiled.Tests.Models;
using Xunit;
using Xunit.Abstractions;

bool quick = false, verbose = false;
string? expectPath = null, filter = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick": quick = true; break;
        case "--verbose": verbose = true; break;
        case "--expect-path" when i + 1 < args.Length: expectPath = args[++i]; break;
        case "--filter" when i + 1 < args.Length: filter = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: mobilevit-selfcheck [--quick] [--expect-path Vector512|Vector256|Vector128|not-scalar] [--filter TEXT] [--verbose]");
            return 2;
    }
}
if (expectPath is not null && !ExpectedPaths.IsKnown(expectPath))
{
    Console.Error.WriteLine($"--expect-path {expectPath}: expected Vector512, Vector256, Vector128 or not-scalar");
    return 2;
}

Console.Write(KernelInfo.Describe());
var runner = new CheckRunner(quick, filter, verbose);
if (expectPath is not null) ExpectedPaths.Check(runner, expectPath);
// Kernels first (fast, and a wrong kernel explains a wrong model), then the models.
runner.RunClass(typeof(VectorMathTests));
runner.RunClass(typeof(ShuffleTests));
runner.RunClass(typeof(KernelInfoTests));
runner.RunClass(typeof(PointwiseConvTests));
runner.RunClass(typeof(LayerNormedPointwiseTests));
runner.RunClass(typeof(GroupNormedPointwiseTests));
runner.RunClass(typeof(Conv2DTests));
runner.RunClass(typeof(WinogradConv2DTests));
runner.RunClass(typeof(DepthwiseConv2DTests));
runner.RunClass(typeof(LayerNormTests));
runner.RunClass(typeof(GlobalAveragePoolTests));
runner.RunClass(typeof(LinearTests));
runner.RunClass(typeof(PatchAttentionTests));
runner.RunClass(typeof(MobileViTV2KernelTests));
runner.RunClass(typeof(ResizeBilinearTests));
runner.RunClass(typeof(CropPadTests));
runner.RunClass(typeof(QuantizedGemmTests));
runner.RunClass(typeof(QuantizedPointwiseTests));
runner.RunClass(typeof(ModelAccuracyTests));
runner.RunClass(typeof(SegmentationAccuracyTests));
runner.RunClass(typeof(Int8AccuracyTests));
return runner.Finish();

namespace MobileViT.Compiled.SelfCheck
{
    internal sealed class CheckRunner(bool quick, string? filter, bool verbose)
    {
        private const DynamicallyAccessedMemberTypes TestMembers =
            DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.PublicProperties;

        private int _passed, _failed, _skippedIsa, _skippedQuick;
        private readonly Stopwatch _total = Stopwatch.StartNew();

        /// <summary>Runs every [Fact] and every row of every [Theory] of a test class, each as one check.</summary>
        public void RunClass([DynamicallyAccessedMembers(TestMembers)] Type testClass)
        {
            foreach (var method in testClass.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttribute<FactAttribute>() is null) continue;
                foreach (var row in Rows(testClass, method))
                {
                    string name = $"{testClass.Name}.{method.Name}" + (row.Length == 0 ? "" : $"({string.Join(", ", row)})");
                    if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                    if (!IsaAccelerated(row)) { _skippedIsa++; continue; }
                    if (quick && !InQuickSubset(method.Name, row)) { _skippedQuick++; continue; }
                    Run(name, () =>
                    {
                        var log = new Log(verbose);
                        var ctor = testClass.GetConstructors().Single();
                        object instance = ctor.Invoke(ctor.GetParameters().Length == 0 ? [] : [log]);
                        method.Invoke(instance, row);
                    });
                }
            }
        }

        /// <summary>One named check: passes when <paramref name="check"/> returns, fails on any exception.</summary>
        public void Run(string name, Action check)
        {
            KernelTestUtil.LargestRelativeError = null;
            var time = Stopwatch.StartNew();
            string? failure = null;
            try { check(); }
            catch (Exception ex)
            {
                var inner = ex is TargetInvocationException { InnerException: { } e } ? e : ex;
                failure = inner is AssertFailedException ? inner.Message : verbose ? inner.ToString() : $"{inner.GetType().Name}: {inner.Message}";
            }
            string error = KernelTestUtil.LargestRelativeError is float e2 ? $"{e2:E2}" : "-";
            Console.WriteLine($"{(failure is null ? "pass" : "FAIL")}  {name}  max error {error}  {time.Elapsed.TotalSeconds:F2}s");
            if (failure is null) _passed++;
            else { _failed++; Console.WriteLine("      " + failure.ReplaceLineEndings("\n      ")); }
        }

        public int Finish()
        {
            Console.WriteLine($"not run: {_skippedIsa} on ISA paths this CPU does not accelerate, {_skippedQuick} outside --quick; {_total.Elapsed.TotalSeconds:F1}s");
            Console.WriteLine($"{_passed} passed, {_failed} failed");
            return _failed == 0 && _passed > 0 ? 0 : 1;
        }

        private static IEnumerable<object?[]> Rows([DynamicallyAccessedMembers(TestMembers)] Type testClass, MethodInfo method)
        {
            if (method.GetCustomAttribute<TheoryAttribute>() is null) return [[]];
            var rows = method.GetCustomAttributes<InlineDataAttribute>().Select(a => a.Data).ToList();
            foreach (var member in method.GetCustomAttributes<MemberDataAttribute>())
            {
                object? data = testClass.GetProperty(member.MemberName, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
                    ?? testClass.GetMethod(member.MemberName, BindingFlags.Public | BindingFlags.Static)?.Invoke(null, null)
                    ?? throw new InvalidOperationException($"{testClass.Name}.{member.MemberName}: no such static member");
                rows.AddRange((IEnumerable<object?[]>)data);
            }
            return rows;
        }

        /// <summary>
        /// A row that names an ISA path (the tests force a path with "Scalar", "Vector128", ...) runs only where that
        /// path is accelerated: elsewhere the BCL emulates the wider vectors in software, which tests nothing this
        /// binary ships and is slow under an emulator.
        /// </summary>
        private static bool IsaAccelerated(object?[] row)
            => row.All(arg => arg is not string s || !Enum.TryParse<Isa>(s, out var isa) || KernelTestUtil.Accelerated(isa));

        /// <summary>
        /// --quick keeps every kernel check and, per architecture family, one model input: MobileViT (XXS), MobileViTV2,
        /// DeepLabV3 segmentation and the 64x64 one-channel Fashion model, and the same in int8; the larger sizes and the
        /// hidden states are left out.
        /// </summary>
        private static bool InQuickSubset(string method, object?[] row) => method switch
        {
            nameof(ModelAccuracyTests.LogitsMatchReference) =>
                row is ["mobilevit-xx-small" or "mobilevitv2-0.5", "photo_chelsea"],
            nameof(ModelAccuracyTests.StageOutputsMatchReferenceHiddenStates) => false,
            nameof(SegmentationAccuracyTests.DilatedLastStageMatchesReferenceHiddenState) => false,
            nameof(Int8AccuracyTests.ImageNetModels_Top1AndLogitsMatchFp32) => row is ["mobilevit-xx-small", "photo_chelsea"],
            nameof(Int8AccuracyTests.LoadAndTwoThreadsGiveTheSameBits) => row is ["mobilevit-xx-small"],
            _ => true,
        };

        private sealed class Log(bool echo) : ITestOutputHelper
        {
            public void WriteLine(string message)
            {
                if (echo) Console.WriteLine("      " + message);
            }
        }
    }

    /// <summary>--expect-path: what KernelInfo (the runtime's own report of the paths it selected) must show.</summary>
    internal static class ExpectedPaths
    {
        private static readonly string[] Tiers = ["Scalar", "Vector128", "Vector256", "Vector512"];

        public static bool IsKnown(string expected) => expected == "not-scalar" || Array.IndexOf(Tiers, expected) > 0;

        /// <summary>
        /// not-scalar: no kernel on the scalar path. A tier T: the machine's widest path (the GEMM's) is T, and every
        /// other kernel is vectorized and no wider than T. Some kernels are narrower by design (bilinear resize and
        /// crop/pad are Vector128, the tiny-N GEMM Vector256): KernelInfo says so, and the check allows it.
        /// </summary>
        public static void Check(CheckRunner runner, string expected)
        {
            int wanted = Array.IndexOf(Tiers, expected);
            foreach (var kernel in KernelInfo.Paths)
            {
                runner.Run($"path {kernel.Kernel} = {kernel.Path}, expected {expected}", () =>
                {
                    int tier = Array.IndexOf(Tiers, kernel.Path);
                    Assert.True(tier > 0, $"{kernel.Kernel} runs the scalar path ({kernel.Detail})");
                    if (wanted > 0)
                        Assert.True(tier <= wanted, $"{kernel.Kernel} runs {kernel.Path}, wider than {expected}");
                });
            }
            if (wanted > 0)
                runner.Run($"widest path {KernelIsa.Best}, expected {expected}",
                    () => Assert.Equal(expected, KernelIsa.Best.ToString()));
        }
    }
}
