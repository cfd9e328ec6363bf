"""The scale-out suite (``make bench-scaleout``): ``sessionpool fetch`` in 1 process, in 2 and on Dask, on nginx hosts.

The runner is :mod:`benchmarks.scaleout.run` (``python -m benchmarks.scaleout``).
This package imports nothing: the Scrapy venv's python imports it to run
the spider.
"""
