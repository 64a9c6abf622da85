"""``python -m benchmarks SUITE ...``"""

from .cli import main

# Guarded so that a spawned worker process re-importing this module does not start a run.
if __name__ == "__main__":
    raise SystemExit(main())
