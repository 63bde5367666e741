// Every test's MeterProvider listens to every Meter named "OtelPower", so two test classes running at once
// see each other's series (ProcessFilterTests then counted another class's processes). One at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
