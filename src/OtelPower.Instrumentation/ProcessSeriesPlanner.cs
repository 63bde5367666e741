using OtelPower.Attribution;

namespace OtelPower.Instrumentation;

/// <summary>
/// Decides which series each process's joules go to, so that every joule lands in exactly one series,
/// every series only grows, and the number of series an instrument ever sees stays under its budget
/// (the SDK never frees a series' slot under cumulative temporality). See CARDINALITY.md.
/// </summary>
internal sealed class ProcessSeriesPlanner
{
    private readonly PowerInstrumentationOptions _options;
    private readonly Dictionary<ProcessKey, ProcessState> _processes = [];
    private readonly Dictionary<string, ExecutableState> _executables = new(StringComparer.Ordinal);
    private readonly int _pidSeriesBudget;
    private readonly Func<ProcessEnergy, EnergyTally> _energyOf;
    private long _generation;
    private int _namedExecutables;
    private int _promoted;

    /// <param name="options">The budgets.</param>
    /// <param name="energyOf">Which pool's books to plan: the CPU pool's by default, or a process's GPU energy.</param>
    public ProcessSeriesPlanner(PowerInstrumentationOptions options, Func<ProcessEnergy, EnergyTally>? energyOf = null)
    {
        _options = options;
        _energyOf = energyOf ?? (static p => p.Energy);

        // One slot per executable aggregate, one for "other", one kept free for the SDK's overflow series.
        _pidSeriesBudget = options.CardinalityLimit - options.MaxExecutableSeries - 2;
    }

    /// <summary>Processes tracked; follows the live process count, so memory stays flat under PID churn.</summary>
    public int TrackedProcessCount => _processes.Count;

    /// <summary>Dedicated pid series created over the instrumentation's lifetime.</summary>
    public int PidSeriesCreated { get; private set; }

    /// <summary>True once the lifetime budget of pid series is spent; new processes then fold per executable.</summary>
    public bool PidBudgetSpent => PidSeriesCreated >= _pidSeriesBudget;

    /// <summary>Books one snapshot's interval energies and returns the series to report.</summary>
    public IReadOnlyList<ProcessSeries> Update(AttributionSnapshot snapshot)
    {
        _generation++;
        foreach (var executable in _executables.Values)
        {
            executable.IntervalMicrojoules = 0;
        }

        var series = new List<ProcessSeries>();
        foreach (var process in snapshot.Processes)
        {
            if (_options.ProcessFilter is { } filter && !filter(process.Process))
            {
                continue;
            }

            if (!_processes.TryGetValue(process.Key, out var state))
            {
                // A filtered set is small by the caller's choice: each accepted process has its series from the start.
                state = new ProcessState(process.Process)
                {
                    Promoted = _options.ProcessFilter is not null,
                };
                _promoted += state.Promoted ? 1 : 0;
                _processes[process.Key] = state;
            }

            // Only numbers are stored per sample: a reference written into a long-lived object marks its card,
            // and every gen0 GC scans the marked cards.
            state.Generation = _generation;
            var energy = _energyOf(process);
            state.LifetimeMicrojoules = energy.Total.Microjoules;
            var interval = energy.Interval.Microjoules;
            if (state.Promoted)
            {
                state.TotalMicrojoules += interval;
                state.IntervalMicrojoules = interval;
            }
            else
            {
                // Its executable's aggregate is found once, not by hashing the name every sample.
                var executable = state.Executable ??= ExecutableFor(process.Process.IsKernelThread ? SemanticConventions.KernelThreads : process.Process.ExecutableName);
                executable.TotalMicrojoules += interval;
                executable.IntervalMicrojoules += interval;
            }
        }

        // Processes that exited: their series ends (its slot stays spent), their state goes.
        foreach (var (key, state) in _processes)
        {
            if (state.Generation != _generation)
            {
                _promoted -= state.Promoted ? 1 : 0;
                _processes.Remove(key);
            }
        }

        PromoteTopProcesses();
        foreach (var state in _processes.Values)
        {
            if (state.Promoted)
            {
                series.Add(new ProcessSeries(state.Process, null, state.TotalMicrojoules, state.IntervalMicrojoules));
            }
        }

        foreach (var (name, executable) in _executables)
        {
            series.Add(new ProcessSeries(null, name, executable.TotalMicrojoules, executable.IntervalMicrojoules));
        }

        return series;
    }

    /// <summary>
    /// The top live processes by energy since first seen get their own series from the next interval on;
    /// it starts at 0 in this export, so Prometheus' increase() sees the whole of it.
    /// </summary>
    private void PromoteTopProcesses()
    {
        if (_options.ProcessFilter is not null || _promoted >= _options.MaxProcessSeries || PidBudgetSpent)
        {
            return;
        }

        var top = _processes.Values
            .Where(s => s.LifetimeMicrojoules > 0)
            .OrderByDescending(s => s.LifetimeMicrojoules)
            .ThenBy(s => s.Process.Key)
            .Take(_options.MaxProcessSeries);
        foreach (var state in top)
        {
            if (_promoted >= _options.MaxProcessSeries || PidBudgetSpent)
            {
                break;
            }

            if (!state.Promoted)
            {
                state.Promoted = true;
                state.TotalMicrojoules = 0;
                state.IntervalMicrojoules = 0;
                PidSeriesCreated++;
                _promoted++;
            }
        }
    }

    private ExecutableState ExecutableFor(string name)
    {
        if (_executables.TryGetValue(name, out var executable))
        {
            return executable;
        }

        // The first executables seen keep their own aggregate for the agent's lifetime; later ones share "other".
        if (_namedExecutables < _options.MaxExecutableSeries && name != SemanticConventions.Other)
        {
            _namedExecutables++;
            executable = new ExecutableState();
            _executables[name] = executable;
            return executable;
        }

        if (!_executables.TryGetValue(SemanticConventions.Other, out executable))
        {
            executable = new ExecutableState();
            _executables[SemanticConventions.Other] = executable;
        }

        return executable;
    }

    private sealed class ProcessState(ProcessIdentity process)
    {
        public ProcessIdentity Process { get; } = process;

        /// <summary>The aggregate its joules go to while it has no series of its own; found when first needed.</summary>
        public ExecutableState? Executable { get; set; }

        /// <summary>Its energy since first seen (the planned pool's), by which the top processes are chosen.</summary>
        public long LifetimeMicrojoules { get; set; }

        public long Generation { get; set; }

        public bool Promoted { get; set; }

        public long TotalMicrojoules { get; set; }

        public long IntervalMicrojoules { get; set; }
    }

    private sealed class ExecutableState
    {
        public long TotalMicrojoules { get; set; }

        public long IntervalMicrojoules { get; set; }
    }
}

/// <summary>One process series: a promoted process (<see cref="Process"/> set) or an executable aggregate.</summary>
internal readonly record struct ProcessSeries(ProcessIdentity? Process, string? ExecutableAggregate, long TotalMicrojoules, long IntervalMicrojoules);
