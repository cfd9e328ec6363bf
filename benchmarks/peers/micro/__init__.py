"""The peers suite's micro-benchmarks, each a module of its own (``python -m benchmarks.peers.micro.layers``).

The runner runs each in quick mode and puts its output, verbatim, in
latest.md; every one runs alone too.
"""
