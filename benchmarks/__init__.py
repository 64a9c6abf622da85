"""graphmem's benchmark runner: judge-free retrieval metrics, baselines in the same run,
speed and scale. Run ``python -m benchmarks SUITE --help`` (or ``graphmem bench SUITE``)."""
