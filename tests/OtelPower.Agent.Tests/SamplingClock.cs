using Microsoft.Extensions.Time.Testing;

namespace OtelPower.Agent.Tests;

/// <summary>
/// <see cref="FakeTimeProvider"/> for the sampling loop. Its timers fire on the thread pool, as real
/// timers do: FakeTimeProvider runs a callback inside <see cref="FakeTimeProvider.Advance(TimeSpan)"/>, so
/// the loop's continuation would run on the test's thread, and an exporter held up by the test would hold
/// up the clock. It also says when its first timer exists: the loop starts its timer after the baseline
/// sample, on its own task, and time advanced before that would be lost.
/// </summary>
internal sealed class SamplingClock : FakeTimeProvider
{
    private readonly TaskCompletionSource _timerCreated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task TimerCreated => _timerCreated.Task;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(s => ThreadPool.UnsafeQueueUserWorkItem(_ => callback(s), null), state, dueTime, period);
        _timerCreated.TrySetResult();
        return timer;
    }
}
