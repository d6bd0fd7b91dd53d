using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace MobileViT.Compiled.Threading;

/// <summary>
/// A light fork-join pool for the kernels: <see cref="Threads"/> - 1 dedicated background threads plus the caller.
/// <para>
/// A parallel call (<see cref="For"/>) publishes a job (a function pointer, a pointer to the caller's state, an
/// item count) and every participant, the caller included, claims items one at a time until none are left; the caller
/// returns when every item has completed. Items are claimed dynamically, so a thread that is descheduled (a shared
/// machine) does not hold the others up, and a worker that is asleep when a job starts costs nothing: the caller
/// simply does its items. Which thread runs an item never changes what the item computes, so kernels split into
/// items stay bitwise identical for any thread count.
/// </para>
/// <para>
/// No allocation per call (the job is three fields and a 64-bit ticket). Between calls a worker spins for a short,
/// bounded time (<see cref="SpinMicroseconds"/>: the next layer of an inference usually follows within
/// microseconds), then blocks on a monitor: no thread keeps burning a core between inferences.
/// </para>
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker polls for the next job before it blocks.</summary>
    public const int SpinMicroseconds = 200;

    private readonly Thread[] _workers;
    private readonly object _lock = new();
    private readonly long _spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;

    // The job. Written by the caller before the ticket that publishes it; read by a worker only after it has claimed an
    // item of that job (the caller cannot start the next job before that item completes, so the fields are stable).
    private delegate*<void*, int, int, void> _body;
    private void* _state;

    // High 32 bits: job generation; bits 16..31: items in the job; low 16 bits: next unclaimed item.
    private long _ticket;
    private int _completed;
    private int _sleepers;
    private volatile bool _disposed;

    /// <param name="threads">Participating threads, the caller included (&gt;= 1; 1 runs everything on the caller).</param>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index))
            {
                IsBackground = true,
                Name = $"MobileViT worker {index}",
            };
            _workers[i].Start();
        }
    }

    /// <summary>Participating threads, the caller included.</summary>
    public int Threads { get; }

    /// <summary>The largest item count one call accepts.</summary>
    public const int MaxItems = 0xFFFF;

    /// <summary>
    /// Runs <c>body(state, item, thread)</c> for every item in [0, count), spread over the pool; returns when all are
    /// done. <c>thread</c> is the participant's index (0 = the caller), for per-thread scratch. Not reentrant: one call at
    /// a time per pool (a model instance runs one inference at a time).
    /// </summary>
    internal void For(int count, delegate*<void*, int, int, void> body, void* state)
    {
        if (count <= 0) return;
        if (Threads == 1 || count == 1 || _disposed)
        {
            for (int i = 0; i < count; i++) body(state, i, 0);
            return;
        }
        if (count > MaxItems) throw new ArgumentOutOfRangeException(nameof(count));

        _body = body;
        _state = state;
        Volatile.Write(ref _completed, 0);
        long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
        // Full fence (Dekker with the sleeping side): publish the job, then look for sleepers.
        Interlocked.Exchange(ref _ticket, (generation << 32) | ((long)count << 16));
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_lock) Monitor.PulseAll(_lock);

        Work(generation, 0);

        var spin = new SpinWait();
        while (Volatile.Read(ref _completed) < count)
        {
            if (spin.NextSpinWillYield) spin = new SpinWait(); // items are short: stay on the core, never sleep
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Claims and runs items of the given generation until none are left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Work(long generation, int thread)
    {
        while (true)
        {
            long t = Volatile.Read(ref _ticket);
            if (t >> 32 != generation) return;
            int next = (int)(t & 0xFFFF), count = (int)((t >> 16) & 0xFFFF);
            if (next >= count) return;
            if (Interlocked.CompareExchange(ref _ticket, t + 1, t) != t) continue;
            _body(_state, next, thread);
            Interlocked.Increment(ref _completed);
        }
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            // Bounded spin for the next job, then block.
            long generation = Volatile.Read(ref _ticket) >> 32;
            if (generation == seen)
            {
                long start = Stopwatch.GetTimestamp();
                while ((generation = Volatile.Read(ref _ticket) >> 32) == seen && !_disposed
                       && Stopwatch.GetTimestamp() - start < _spinTicks)
                    Thread.SpinWait(30);
            }
            if (generation == seen && !_disposed)
            {
                lock (_lock)
                {
                    Interlocked.Increment(ref _sleepers);
                    while ((generation = Volatile.Read(ref _ticket) >> 32) == seen && !_disposed)
                        Monitor.Wait(_lock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_disposed) return;
            seen = generation;
            Work(generation, index);
        }
    }

    /// <summary>Stops the workers (they exit; a later <see cref="For"/> runs on the caller).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_lock) Monitor.PulseAll(_lock);
        foreach (var w in _workers) w.Join();
    }
}
