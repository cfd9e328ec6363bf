"""``python -m benchmarks.scaleout``: the scale-out suite's runner (see run.py)."""

from benchmarks.scaleout.run import main

if __name__ == "__main__":
    main()
