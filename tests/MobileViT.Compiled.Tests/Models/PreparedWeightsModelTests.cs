using System.Buffers.Binary;
using MobileViT.Compiled.IO;
using MobileViT.Compiled.Tests.Compiled;

namespace MobileViT.Compiled.Tests.Models;

/// <summary>
/// The compiled fixture models with their weights from each place they can come from: embedded (prepared at build
/// time), a safetensors file (prepared at run time), a prepared file (<c>Prepare</c>, then mapped) and a prepared cache;
/// all give bit for bit the same logits. Also: the cache's invalidation, other architectures' and damaged prepared
/// files, and Dispose.
/// </summary>
public sealed class PreparedWeightsModelTests : IDisposable
{
    private const string Fashion = "mobilevit-xx-small-fashion";
    private static readonly float[] s_input = Fixtures.Reference(Fashion, "input.test16")[..FashionMobileViT.InputLength];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mobilevit-prepared-" + Guid.NewGuid().ToString("N")[..12]);

    public PreparedWeightsModelTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Temp(string name) => Path.Combine(_directory, name);

    /// <summary>The fashion fixture's safetensors, copied so that its times can be changed.</summary>
    private string FashionCopy()
    {
        string path = Temp("fashion.safetensors");
        File.Copy(CompiledModels.WeightsPath(Fashion), path);
        return path;
    }

    private static float[] Logits(FashionMobileViT model)
    {
        var output = new float[FashionMobileViT.OutputLength];
        model.Run(s_input, output);
        return output;
    }

    private static void AssertBitIdentical(float[] expected, float[] actual)
        => Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));

    private static float[] s_embeddedLogits = null!;

    private static float[] EmbeddedLogits()
    {
        if (s_embeddedLogits is null)
        {
            using var model = FashionMobileViT.Create(1);
            s_embeddedLogits = Logits(model);
        }
        return s_embeddedLogits;
    }

    /// <summary>Whether the process maps <paramref name="path"/> (Linux: /proc/self/maps; elsewhere not checked).</summary>
    private static void AssertMapped(string path, bool mapped)
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.Equal(mapped, File.ReadAllText("/proc/self/maps").Contains(Path.GetFullPath(path), StringComparison.Ordinal));
    }

    // ---- Where the weights come from: same logits, and Residence says where they are ---------------------------

    [Fact]
    public void Create_ReadsTheEmbeddedResourceInPlace()
    {
        using var model = FashionMobileViT.Create(1);
        Assert.StartsWith("embedded resource (in place), ", model.WeightsResidence);
        Assert.Contains(" MB", model.WeightsResidence);
        AssertBitIdentical(EmbeddedLogits(), Logits(model));
    }

    [Fact]
    public void LoadSafetensors_PreparesInMemory_SameLogitsAsEmbedded()
    {
        using var model = FashionMobileViT.Load(CompiledModels.WeightsPath(Fashion), 1);
        Assert.StartsWith("prepared in memory, ", model.WeightsResidence);
        AssertBitIdentical(EmbeddedLogits(), Logits(model));
    }

    [Fact]
    public void LoadPreparedFile_MapsIt_SameLogitsAsEmbedded()
    {
        string prepared = Temp("fashion.prepared");
        FashionMobileViT.Prepare(CompiledModels.WeightsPath(Fashion), prepared);
        Assert.True(PreparedWeightsFormat.HasMagic(File.ReadAllBytes(prepared)));
        using var model = FashionMobileViT.Load(prepared, 1);
        Assert.StartsWith("mapped file, ", model.WeightsResidence);
        AssertBitIdentical(EmbeddedLogits(), Logits(model));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp")); // written atomically, the temporary file gone
    }

    [Fact]
    public void PreparedFile_IsByteForByteWhatTheBuildEmbedded_ApartFromTheSourceFields()
    {
        // Same recipe, same preparer: the run-time preparation of the file the build used gives the embedded bytes.
        string prepared = Temp("fashion.prepared");
        FashionMobileViT.Prepare(CompiledModels.WeightsPath(Fashion), prepared);
        var file = File.ReadAllBytes(prepared);
        string resource = (string)typeof(FashionMobileViT).GetField("WeightsResource", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetRawConstantValue()!;
        using var stream = typeof(FashionMobileViT).Assembly.GetManifestResourceStream(resource)!;
        var embedded = new byte[stream.Length];
        stream.ReadExactly(embedded);
        Assert.Equal(embedded.Length, file.Length);
        Assert.Equal(embedded[..32], file[..32]);                  // magic, version, count, fingerprint, length
        Assert.True(embedded.AsSpan(80).SequenceEqual(file.AsSpan(80)), "entry table or data differ");
        // The build records the source's SHA-256, which the class carries.
        Assert.Equal(FashionMobileViT.WeightsSha256, Convert.ToHexStringLower(PreparedWeightsFormat.ReadSource(embedded).Sha256!));
        Assert.Equal(FashionMobileViT.WeightsFingerprint, BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16)));
    }

    [Fact]
    public void Recipe_ParsesToTheEntriesTheClassReads()
    {
        var recipe = WeightRecipe.Parse(FashionMobileViT.WeightsRecipe);
        var blob = File.ReadAllBytes(PrepareFashion());
        Assert.Equal(recipe.EntryCount, BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(12)));
    }

    private string PrepareFashion()
    {
        string prepared = Temp("fashion.prepared");
        if (!File.Exists(prepared)) FashionMobileViT.Prepare(CompiledModels.WeightsPath(Fashion), prepared);
        return prepared;
    }

    [Fact]
    public void EmbeddedWeightsOfEveryFixtureModel_HaveTheEntryLengthsTheRecipeGives()
    {
        // What Load checks a prepared file against must be what the build (and Prepare) writes.
        foreach (var type in new[] { typeof(MobileViTXXSmall), typeof(MobileViTXSmall), typeof(MobileViTSmall), typeof(FashionMobileViT),
                     typeof(DeepLabV3MobileViTXXSmall), typeof(MobileViTV2Half) })
        {
            const System.Reflection.BindingFlags flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;
            string Constant(string name) => (string)type.GetField(name, flags)!.GetRawConstantValue()!;
            var tensors = (IReadOnlyList<ExpectedTensor>)type.GetProperty("ExpectedTensors", flags)!.GetValue(null)!;
            var expected = WeightPreparer.EntryLengths(WeightRecipe.Parse(Constant("WeightsRecipe")), tensors);
            using var stream = type.Assembly.GetManifestResourceStream(Constant("WeightsResource"))!;
            var header = new byte[PreparedWeightsFormat.HeaderLength + 16 * expected.Length];
            stream.ReadExactly(header);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i] == CountOf(header, i), $"{type.Name} entry {i}: {CountOf(header, i)} floats, recipe says {expected[i]}");
        }
    }

    // ---- The prepared cache -----------------------------------------------------------------------------------

    private static readonly DateTime s_sentinel = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);

    [Fact]
    public void Cache_IsWrittenOnce_ThenMapped_ThenPreparedAgainWhenTheSourceChanges()
    {
        string safetensors = FashionCopy();
        string cache = Temp("cache/fashion.prepared"); // the directory is created

        using (var first = FashionMobileViT.Load(safetensors, 1, cache))
        {
            Assert.True(File.Exists(cache));
            Assert.StartsWith("mapped file, ", first.WeightsResidence);
            AssertBitIdentical(EmbeddedLogits(), Logits(first));
        }
        var recorded = PreparedWeightsFormat.ReadSource(File.ReadAllBytes(cache));
        Assert.Equal(new FileInfo(safetensors).Length, recorded.Length);
        Assert.Equal(File.GetLastWriteTimeUtc(safetensors).Ticks, recorded.LastWriteTicks);

        // Mark the cache: a rewrite would give it a new write time.
        File.SetLastWriteTimeUtc(cache, s_sentinel);
        using (var second = FashionMobileViT.Load(safetensors, 1, cache))
        {
            Assert.StartsWith("mapped file, ", second.WeightsResidence);
            AssertMapped(cache, true);
            AssertBitIdentical(EmbeddedLogits(), Logits(second));
        }
        Assert.Equal(s_sentinel, File.GetLastWriteTimeUtc(cache));

        // The safetensors file is touched: the cache no longer vouches for it.
        var touched = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(safetensors, touched);
        using (var third = FashionMobileViT.Load(safetensors, 1, cache))
        {
            Assert.StartsWith("mapped file, ", third.WeightsResidence);
            AssertBitIdentical(EmbeddedLogits(), Logits(third));
        }
        Assert.NotEqual(s_sentinel, File.GetLastWriteTimeUtc(cache));
        Assert.Equal(touched.Ticks, PreparedWeightsFormat.ReadSource(File.ReadAllBytes(cache)).LastWriteTicks);
    }

    [Fact]
    public void Cache_LoadedByThreadsAtOnce_AllSucceed()
    {
        // Instances created in parallel at start-up with one cache path: each may prepare it; none may fail.
        // (This failed every time before Prepare's temporary file was made per call rather than per process.)
        const int threads = 3;
        string safetensors = FashionCopy();
        string cache = Temp("concurrent.prepared");
        using var start = new Barrier(threads);
        var models = new FashionMobileViT[threads];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try { models[i] = FashionMobileViT.Load(safetensors, 1, cache); }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();
        try
        {
            Assert.Empty(failures.Select(e => e.Message));
            foreach (var model in models) AssertBitIdentical(EmbeddedLogits(), Logits(model));
        }
        finally
        {
            foreach (var model in models) model?.Dispose();
        }
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public void Cache_OfAnotherLength_IsPreparedAgain()
    {
        // Same write time, another length (a file replaced by one of the same time): prepared again.
        string safetensors = FashionCopy();
        string cache = Temp("fashion.prepared");
        FashionMobileViT.Load(safetensors, 1, cache).Dispose();
        var blob = File.ReadAllBytes(cache);
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(32), new FileInfo(safetensors).Length + 1); // recorded source length
        File.WriteAllBytes(cache, blob);
        File.SetLastWriteTimeUtc(cache, s_sentinel);
        FashionMobileViT.Load(safetensors, 1, cache).Dispose();
        Assert.NotEqual(s_sentinel, File.GetLastWriteTimeUtc(cache));
        Assert.Equal(new FileInfo(safetensors).Length, PreparedWeightsFormat.ReadSource(File.ReadAllBytes(cache)).Length);
    }

    [Fact]
    public void Cache_OfAnotherCheckpointWithTheSameLengthAndTime_IsPreparedAgain()
    {
        // Another checkpoint of the same architecture, same length and write time (unpacked from one archive): the
        // sampled-content stamp tells them apart, and the new weights are what runs.
        string safetensors = FashionCopy();
        string cache = Temp("fashion.prepared");
        FashionMobileViT.Load(safetensors, 1, cache).Dispose();
        var time = File.GetLastWriteTimeUtc(safetensors);
        var bytes = File.ReadAllBytes(safetensors);
        int last = bytes.Length - 4; // the last float of the data: classifier.bias or the end of the last tensor
        BitConverter.GetBytes(BitConverter.ToSingle(bytes, last) + 1f).CopyTo(bytes, last);
        File.WriteAllBytes(safetensors, bytes);
        File.SetLastWriteTimeUtc(safetensors, time);
        File.SetLastWriteTimeUtc(cache, s_sentinel);
        using var model = FashionMobileViT.Load(safetensors, 1, cache);
        Assert.NotEqual(s_sentinel, File.GetLastWriteTimeUtc(cache));
        using var direct = FashionMobileViT.Load(safetensors, 1);
        AssertBitIdentical(Logits(direct), Logits(model));
        Assert.NotEqual(EmbeddedLogits(), Logits(model));
    }

    [Fact]
    public void Cache_ThatIsTheSafetensorsFileItself_IsRefused()
    {
        string safetensors = FashionCopy();
        long length = new FileInfo(safetensors).Length;
        var e = Assert.Throws<ArgumentException>(() => FashionMobileViT.Load(safetensors, 1, Path.Combine(Path.GetDirectoryName(safetensors)!, ".", Path.GetFileName(safetensors))));
        Assert.Equal("preparedCachePath", e.ParamName);
        Assert.Equal(length, new FileInfo(safetensors).Length); // untouched
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("empty")]
    [InlineData("entry-length")]
    public void Cache_Damaged_IsPreparedAgain(string damage)
    {
        string safetensors = FashionCopy();
        string cache = Temp("fashion.prepared");
        FashionMobileViT.Load(safetensors, 1, cache).Dispose();
        var good = File.ReadAllBytes(cache);
        File.WriteAllBytes(cache, damage switch
        {
            "garbage" => Enumerable.Repeat((byte)0x5A, 4096).ToArray(),
            "truncated" => good[..^1000],
            "entry-length" => With(good, PreparedWeightsFormat.HeaderLength + 8, CountOf(good, 0) - 1),
            _ => [],
        });
        using var model = FashionMobileViT.Load(safetensors, 1, cache);
        Assert.StartsWith("mapped file, ", model.WeightsResidence);
        AssertBitIdentical(EmbeddedLogits(), Logits(model));
        Assert.Equal(good, File.ReadAllBytes(cache));
    }

    [Fact]
    public void Cache_OfAnotherArchitecture_IsIgnoredAndRewritten()
    {
        string cache = Temp("shared.prepared");
        FashionMobileViT.Load(CompiledModels.WeightsPath(Fashion), 1, cache).Dispose();
        Assert.Equal(FashionMobileViT.WeightsFingerprint, BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(cache).AsSpan(16)));

        using (var other = MobileViTXXSmall.Load(CompiledModels.WeightsPath("mobilevit-xx-small"), 1, cache))
            Assert.StartsWith("mapped file, ", other.WeightsResidence);
        Assert.Equal(MobileViTXXSmall.WeightsFingerprint, BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(cache).AsSpan(16)));
    }

    [Fact]
    public void PreparedFileOfAnotherArchitecture_IsRefused()
    {
        string prepared = PrepareFashion();
        var e = Assert.Throws<ModelLoadException>(() => MobileViTXXSmall.Load(prepared, 1));
        Assert.Contains("another architecture", e.Message);
        Assert.Equal(prepared, e.Source);
        AssertMapped(prepared, false); // released when refused
    }

    [Fact]
    public void PreparingAnotherArchitecturesSafetensors_IsRefusedNamingTheTensor()
    {
        var e = Assert.Throws<ModelLoadException>(() => MobileViTXXSmall.Prepare(CompiledModels.WeightsPath(Fashion), Temp("x.prepared")));
        Assert.NotNull(e.Tensor);
        Assert.False(File.Exists(Temp("x.prepared")));
    }

    // ---- Damaged prepared files given to Load -------------------------------------------------------------------

    public static TheoryData<string> Damages => new() { "truncated", "truncated-to-header", "header-length+1", "header-length-1", "short", "magic-only", "entry-offset", "entry-count", "version", "bias-emptied", "entry-shorter", "entry-longer" };

    [Theory]
    [MemberData(nameof(Damages))]
    public void DamagedPreparedFile_IsAModelLoadException(string damage)
    {
        var blob = File.ReadAllBytes(PrepareFashion());
        byte[] damaged = damage switch
        {
            "truncated" => blob[..^4],
            "truncated-to-header" => blob[..PreparedWeightsFormat.HeaderLength],
            "header-length+1" => With(blob, 24, blob.Length + 1L),
            "header-length-1" => With(blob, 24, blob.Length - 1L),
            "short" => blob[..100],
            "magic-only" => blob[..8],
            "entry-offset" => With(blob, PreparedWeightsFormat.HeaderLength + 16 * 3, blob.Length + 64L),
            "entry-count" => With(blob, PreparedWeightsFormat.HeaderLength + 16 * 3 + 8, (long)int.MaxValue),
            "version" => With32(blob, 8, PreparedWeightsFormat.Version + 1),
            // In bounds, right fingerprint and entry count, but not the lengths the model reads. An empty bias was
            // once accepted and read as "no bias" (wrong logits); a short weight failed only at Run (ArgumentException).
            "bias-emptied" => With(blob, PreparedWeightsFormat.HeaderLength + 16 * 1 + 8, 0L),
            "entry-shorter" => With(blob, PreparedWeightsFormat.HeaderLength + 16 * 2 + 8, CountOf(blob, 2) - 1),
            "entry-longer" => With(blob, PreparedWeightsFormat.HeaderLength + 16 * 0 + 8, CountOf(blob, 0) + 1),
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        string path = Temp("damaged.prepared");
        File.WriteAllBytes(path, damaged);
        var e = Assert.Throws<ModelLoadException>(() => FashionMobileViT.Load(path, 1));
        Assert.Equal(path, e.Source);
        Assert.StartsWith(path + ": ", e.Message);
        AssertMapped(path, false);
    }

    private static byte[] With(byte[] blob, int at, long value)
    {
        var copy = blob.ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(at), value);
        return copy;
    }

    private static long CountOf(byte[] blob, int entry) => BinaryPrimitives.ReadInt64LittleEndian(blob.AsSpan(PreparedWeightsFormat.HeaderLength + 16 * entry + 8));

    private static byte[] With32(byte[] blob, int at, int value)
    {
        var copy = blob.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(at), value);
        return copy;
    }

    // ---- Dispose ------------------------------------------------------------------------------------------------

    public static TheoryData<string> Origins => new() { "embedded", "safetensors", "prepared" };

    private FashionMobileViT Open(string origin) => origin switch
    {
        "embedded" => FashionMobileViT.Create(1),
        "safetensors" => FashionMobileViT.Load(CompiledModels.WeightsPath(Fashion), 1),
        _ => FashionMobileViT.Load(PrepareFashion(), 1),
    };

    [Theory]
    [MemberData(nameof(Origins))]
    public void RunAfterDispose_Throws_DisposeTwiceIsFine(string origin)
    {
        var model = Open(origin);
        Logits(model);
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Run(s_input, new float[FashionMobileViT.OutputLength]));
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Run(s_input, new float[FashionMobileViT.OutputLength]));
    }

    [Fact]
    public void LoadFromSafetensors_DoesNotKeepTheFileMapped()
    {
        string safetensors = FashionCopy();
        using var model = FashionMobileViT.Load(safetensors, 1);
        AssertMapped(safetensors, false);
        File.Delete(safetensors);
        AssertBitIdentical(EmbeddedLogits(), Logits(model));
    }

    [Fact]
    public void MappedPreparedFile_AfterDispose_IsReleased_AndCanBeDeletedOrOverwritten()
    {
        if (!OperatingSystem.IsLinux()) return; // elsewhere a mapped file cannot be deleted or replaced anyway
        string prepared = PrepareFashion();
        var model = FashionMobileViT.Load(prepared, 1);
        AssertMapped(prepared, true);
        Logits(model);
        model.Dispose();
        AssertMapped(prepared, false);
        // Overwritten in place (truncated, then written), then deleted.
        File.WriteAllBytes(prepared, [1, 2, 3]);
        File.Delete(prepared);
        Assert.False(File.Exists(prepared));

        // The cache too: after Dispose it can be overwritten by another preparation.
        string cache = Temp("cache.prepared");
        var cached = FashionMobileViT.Load(CompiledModels.WeightsPath(Fashion), 1, cache);
        AssertMapped(cache, true);
        cached.Dispose();
        AssertMapped(cache, false);
        FashionMobileViT.Prepare(CompiledModels.WeightsPath(Fashion), cache);
        using var again = FashionMobileViT.Load(cache, 1);
        AssertBitIdentical(EmbeddedLogits(), Logits(again));
    }

    [Fact]
    public async Task DisposeDuringARunOnAnotherThread_IsRefused_ThenWorksAfterTheRun()
    {
        using var model = FashionMobileViT.Create(1);
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var output = new float[FashionMobileViT.OutputLength];
        int calls = 0;
        var run = Task.Run(() => model.Run(s_input, output, (_, _, _, _, _) =>
        {
            if (Interlocked.Increment(ref calls) != 1) return;
            inside.Set();
            release.Wait(TimeSpan.FromSeconds(10));
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)));
        Assert.Throws<InvalidOperationException>(model.Dispose);
        release.Set();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        AssertBitIdentical(EmbeddedLogits(), output);
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Run(s_input, output));
    }
}
