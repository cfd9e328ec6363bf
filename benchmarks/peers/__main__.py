"""``python -m benchmarks.peers``: the peers suite's runner (see run.py)."""

from benchmarks.peers.run import main

if __name__ == "__main__":
    main()
