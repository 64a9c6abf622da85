"""Benchmark suites: each module offers ``add_arguments(parser)`` and ``run(args) -> int``."""
