using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Router.Routing.Direct;

namespace Router.Tests;

// These tests hold ValueTasks, read their results synchronously once completed and read one twice on
// purpose: what the builder does with such use is what they check.
#pragma warning disable CA2012, xUnit1031

/// <summary>
/// The direct path's async method builder: the standard builder's results, exceptions, cancellation and
/// execution context, and boxes that come back to the pool even when many requests are suspended at once
/// (where the runtime's pooling builder allocates). Methods suspend on a <see cref="Gate"/>, released on the
/// test's own thread, so continuations run inline as they do on the socket engine's thread.
/// </summary>
public sealed class PooledValueTaskBuilderTests
{
    private static readonly AsyncLocal<string?> Flowing = new();

    [Fact]
    public void CompletesWithoutWaiting_ResultAtOnce()
    {
        var task = AddOne(gate: null, 41);

        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal(42, task.Result);
    }

    [Fact]
    public async Task ThrowsWithoutWaiting_ExceptionOnAwait()
    {
        var task = Fail(gate: null, new InvalidOperationException("sync"));

        Assert.True(task.IsFaulted);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await task);
        Assert.Equal("sync", e.Message);
    }

    [Fact]
    public Task Waits_ResultWhenReleased() => OnPlainThread(() =>
    {
        var gate = new Gate();
        var task = AddOne(gate, 1);
        Assert.False(task.IsCompleted);

        gate.Release();

        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal(2, task.Result);
    });

    [Fact]
    public Task WaitsThenThrows_FaultedAndCancelledAsTheStandardBuilder() => OnPlainThread(() =>
    {
        var gate = new Gate();
        var faulted = Fail(gate, new InvalidOperationException("async"));
        gate.Release();
        Assert.True(faulted.IsFaulted);
        Assert.Equal("async", Assert.Throws<InvalidOperationException>(() => faulted.Result).Message);

        var cancelled = Fail(gate, new OperationCanceledException());
        gate.Release();
        Assert.True(cancelled.IsCanceled);
        Assert.Throws<OperationCanceledException>(() => cancelled.Result);
    });

    [Fact]
    public Task ExecutionContext_FlowsAcrossTheAwaitAndNotBackToTheCaller() => OnPlainThread(() =>
    {
        var gate = new Gate();
        Flowing.Value = "caller";
        var task = ReadAndSetFlowing(gate);
        Flowing.Value = "changed after the call";

        gate.Release();

        // Inside, after the await: the caller's value as it was at the await.
        Assert.Equal("caller", task.Result);
        Assert.Equal("changed after the call", Flowing.Value);
    });

    [Fact]
    public Task ManyInFlight_EachItsOwnResult() => OnPlainThread(() =>
    {
        // More than the pool holds: the rest are allocated and dropped on return, results unharmed.
        var count = PooledValueTaskBuilder<int>.PoolCapacity + 44;
        var gates = Enumerable.Range(0, count).Select(_ => new Gate()).ToArray();
        var tasks = gates.Select((g, i) => AddOne(g, i)).ToArray();

        // Released in reverse, so boxes come back in another order than they went out.
        foreach (var gate in gates.Reverse())
        {
            gate.Release();
        }

        Assert.Equal(Enumerable.Range(1, count), tasks.Select(t => t.Result));
    });

    [Fact]
    public Task ResultReadTwice_SecondReadRefusedAndThePoolUnharmed() => OnPlainThread(() =>
    {
        var gate = new Gate();
        var task = AddOne(gate, 1);
        gate.Release();
        Assert.Equal(2, task.Result);

        // The box went back to the pool on the first read: a second one is refused, and does not give it back twice.
        Assert.Throws<InvalidOperationException>(() => task.Result);

        // Two suspended at once must hold two boxes: one box given back twice would serve both.
        var (first, second) = (new Gate(), new Gate());
        var a = AddOne(first, 10);
        var b = AddOne(second, 20);
        second.Release();
        first.Release();
        Assert.Equal((11, 21), (a.Result, b.Result));
    });

    [Fact]
    public Task ThirtyTwoSuspendedAtOnce_NoAllocationOnceWarm() => OnPlainThread(() =>
    {
        // What the socket engine does under wrk -c32: a batch of requests suspends before any finishes.
        var gates = Enumerable.Range(0, 32).Select(_ => new Gate()).ToArray();
        var pooled = new ValueTask<int>[gates.Length];
        var standard = new ValueTask<int>[gates.Length];

        var ours = BytesPerRound(() => Round(gates, pooled, AddOne));
        var runtime = BytesPerRound(() => Round(gates, standard, AddOneStandard));

        Assert.Equal(0, ours);

        // The measure can see what it looks for: the runtime's builder, one spare box per thread, allocates here.
        Assert.True(runtime > 0, "the runtime's pooling builder allocated nothing: the measure is blind");
    });

    private static long BytesPerRound(Action round)
    {
        // Warm: JIT, pools filled, gates' continuations in place.
        for (var i = 0; i < 5; i++)
        {
            round();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            round();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
    }

    private static void Round(Gate[] gates, ValueTask<int>[] tasks, Func<Gate?, int, ValueTask<int>> method)
    {
        for (var i = 0; i < gates.Length; i++)
        {
            tasks[i] = method(gates[i], i);
        }

        foreach (var gate in gates)
        {
            gate.Release();
        }

        for (var i = 0; i < tasks.Length; i++)
        {
            if (tasks[i].Result != i + 1)
            {
                throw new InvalidOperationException($"call {i} got another's result");
            }
        }
    }

    /// <summary>Runs on a pool thread with no synchronization context, so continuations run inline as on the socket engine's thread.</summary>
    private static Task OnPlainThread(Action body) => Task.Run(body);

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<int> AddOne(Gate? gate, int value)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        return value + 1;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AddOneStandard(Gate? gate, int value)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        return value + 1;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<int> Fail(Gate? gate, Exception exception)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        throw exception;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<string?> ReadAndSetFlowing(Gate gate)
    {
        await gate.WaitAsync();
        var seen = Flowing.Value;
        Flowing.Value = "set inside";
        return seen;
    }

    /// <summary>A reusable wait with no allocation per use: released on the caller's thread, its waiter runs inline.</summary>
    private sealed class Gate : IValueTaskSource<bool>
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public ValueTask<bool> WaitAsync() => new(this, _core.Version);

        public void Release() => _core.SetResult(true);

        public bool GetResult(short token)
        {
            var result = _core.GetResult(token);
            _core.Reset();
            return result;
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
