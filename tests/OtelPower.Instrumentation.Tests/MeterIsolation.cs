// Every harness's MeterProvider listens to every Meter named "OtelPower" in the process, so two test
// classes running at once see each other's series (ProcessFilterTests then counts another class's
// processes). The classes of this assembly run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
