"""What the suites share: servers, child processes and their environment, process trees, machine facts, rounds, tables.

``paths`` and ``harness`` import only the standard library: a client
subprocess run by another venv's python loads them.
"""
