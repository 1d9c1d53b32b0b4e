using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Router.Routing.Direct;

/// <summary>
/// The async method builder of the direct path's per-request methods: a <see cref="ValueTask{TResult}"/>
/// whose method, when it has to wait, runs in a box taken from a pool of that method's boxes and given back
/// when its result is read.
/// </summary>
/// <remarks>
/// <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/> keeps one spare box per thread and one per core.
/// Under load the socket engine wakes a batch of connections at once: each of their requests suspends in the
/// same five methods before any finishes, the spares run out, and measured under <c>wrk -c32</c> every
/// suspension allocated its box (≈ 800 bytes per request, eight gen0 collections a second). A pool of up to
/// <see cref="PoolCapacity"/> boxes per method holds as many as there are requests in flight.
/// Semantics are the standard builder's: the execution context flows across awaits, a continuation runs
/// inline, and a result can be read once. One difference, unseen by callers that await: an exception thrown
/// before the first await, an <see cref="OperationCanceledException"/> included, makes a faulted task, not a
/// cancelled one.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
[SuppressMessage("Design", "CA1000", Justification = "The compiler calls the static Create of an async method builder.")]
[SuppressMessage("Performance", "CA1822", Justification = "The compiler calls Start and SetStateMachine on the builder instance.")]
internal struct PooledValueTaskBuilder<TResult>
{
    /// <summary>Boxes kept per method: requests in flight beyond it allocate, as before.</summary>
    public const int PoolCapacity = 256;

    private PooledBox<TResult>? _box;
    private Exception? _exception;
    private TResult _result;

    public static PooledValueTaskBuilder<TResult> Create() => default;

    public readonly ValueTask<TResult> Task =>
        _box is { } box ? new ValueTask<TResult>(box, box.Version)
        : _exception is { } exception ? ValueTask.FromException<TResult>(exception)
        : new ValueTask<TResult>(_result);

    public void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine =>
        // The standard builder's start: runs the method to its first await and restores the thread's
        // execution and synchronization contexts after it; it keeps nothing of its own.
        AsyncValueTaskMethodBuilder<TResult>.Create().Start(ref stateMachine);

    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
        // Boxing is the builder's own business (BoxFor); the compiler calls this only on other builders' paths.
    }

    public void SetResult(TResult result)
    {
        if (_box is null)
        {
            _result = result;
        }
        else
        {
            _box.SetResult(result);
        }
    }

    public void SetException(Exception exception)
    {
        if (_box is null)
        {
            _exception = exception;
        }
        else
        {
            _box.SetException(exception);
        }
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    /// <summary>The box the method runs in from its first await on, with the caller's execution context for the next step.</summary>
    private StateMachineBox<TStateMachine> BoxFor<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is not StateMachineBox<TStateMachine> box)
        {
            box = StateMachineBox<TStateMachine>.Rent();

            // This builder lives in the state machine: set first, the box's copy carries it too.
            _box = box;
            box.StateMachine = stateMachine;
        }

        box.Context = ExecutionContext.Capture();
        return box;
    }

    private sealed class StateMachineBox<TStateMachine> : PooledBox<TResult>
        where TStateMachine : IAsyncStateMachine
    {
        private static readonly ContextCallback RunInContext = static s => ((StateMachineBox<TStateMachine>)s!).StateMachine.MoveNext();
        private static readonly StateMachineBox<TStateMachine>?[] Pool = new StateMachineBox<TStateMachine>?[PoolCapacity];
        private static int _pooled;

        private Action? _moveNext;

        public TStateMachine StateMachine = default!;

        public ExecutionContext? Context;

        public Action MoveNextAction => _moveNext ??= MoveNext;

        public static StateMachineBox<TStateMachine> Rent()
        {
            lock (Pool)
            {
                if (_pooled > 0)
                {
                    var box = Pool[--_pooled]!;
                    Pool[_pooled] = null;
                    return box;
                }
            }

            return new StateMachineBox<TStateMachine>();
        }

        protected override void Return()
        {
            // Nothing of the finished method is kept alive by a box waiting in the pool.
            StateMachine = default!;
            Context = null;
            ResetCore();
            lock (Pool)
            {
                if (_pooled < Pool.Length)
                {
                    Pool[_pooled++] = this;
                }
            }
        }

        private void MoveNext()
        {
            var context = Context;
            if (context is null)
            {
                StateMachine.MoveNext();
            }
            else
            {
                ExecutionContext.Run(context, RunInContext, this);
            }
        }
    }
}

/// <summary>What a <see cref="PooledValueTaskBuilder{TResult}"/>'s <see cref="ValueTask{TResult}"/> waits on: given back to its pool once read.</summary>
internal abstract class PooledBox<TResult> : IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception exception) => _core.SetException(exception);

    public TResult GetResult(short token)
    {
        if (token != _core.Version || _core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            // A stale or early read: the core throws, and the box, still someone else's, stays out of the pool.
            return _core.GetResult(token);
        }

        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Return();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>Called once the result was read: the box may serve the next call.</summary>
    protected abstract void Return();

    /// <summary>A new version: the <see cref="ValueTask{TResult}"/> handed out before can no longer read this box.</summary>
    protected void ResetCore() => _core.Reset();
}
