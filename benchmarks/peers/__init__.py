"""The peers suite (``make bench``): sessionpool against the clients users would pick instead, on one local nginx.

The runner is :mod:`benchmarks.peers.run` (``python -m benchmarks.peers``);
``micro`` holds the micro-benchmarks it runs afterwards. This package imports
nothing: the niquests venv's python imports it to run a client.
"""
