"""MkDocs hook: the benchmark results, where ``make bench`` writes them, as pages of the site.

``benchmarks/results/latest.md``, ``scaleout.md`` and ``throughput.png``
stay in ``benchmarks/results/`` (the benchmarks write them there); this hook
adds them to the site under ``benchmarks/``, so the performance page links
to the very files the last run wrote, and ``latest.md``'s own link to its
chart resolves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
#: The files of ``benchmarks/results/`` the site shows, under ``benchmarks/``.
SHOWN = ("latest.md", "scaleout.md", "throughput.png")


def on_files(files: Files, *, config: Any, **kwargs: Any) -> Files:
    """Add the benchmark results to the site's files."""
    for name in SHOWN:
        source = RESULTS / name
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: the performance page shows it")
        files.append(File.generated(config, f"benchmarks/{name}", abs_src_path=str(source)))
    return files
