"""sessionpool's benchmarks: two suites and what they share (see README.md).

Every module runs from the repository's root as a module, e.g.
``python -m benchmarks.peers`` or ``python -m benchmarks.scaleout``. The
package imports nothing: a client subprocess run by another venv's python
(niquests', Scrapy's) imports it too.
"""
