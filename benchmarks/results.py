"""From client runs to table cells: medians over rounds, and ratios to the same round's baseline."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

Run = dict[str, Any]  # one client run: where it ran, and the client's JSON line
Cell = dict[str, Any]  # one client at one (protocol, path, threads): its rounds summarized


def cell_key(run: Run) -> tuple[str, str, int, str]:
    """Which cell a run belongs to."""
    return (run["protocol"], run["path"], run["threads"], run["client"])


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def round_ratios(runs: list[Run], baseline: str) -> dict[tuple[str, str, int, str], list[float]]:
    """Each run's req/s over the baseline's req/s in the same round of the same cell."""
    base = {
        (run["protocol"], run["path"], run["threads"], run["round"]): run["rps"]
        for run in runs
        if run["client"] == baseline and run.get("rps")
    }
    ratios: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    for run in runs:
        reference = base.get((run["protocol"], run["path"], run["threads"], run["round"]))
        if reference and run.get("rps") is not None:
            ratios[cell_key(run)].append(run["rps"] / reference)
    return ratios


def summarize(runs: list[Run], baseline: str) -> list[Cell]:
    """One cell per (protocol, path, threads, client), in the order the runs came."""
    grouped: dict[tuple[str, str, int, str], list[Run]] = {}
    for run in runs:
        grouped.setdefault(cell_key(run), []).append(run)
    ratios = round_ratios(runs, baseline)
    cells = []
    for key, group in grouped.items():
        measured = [run for run in group if run.get("rps") is not None]
        notes = sorted({run["broken"] for run in group if run.get("broken")})
        connections = [run["connections"] for run in measured if run.get("connections") is not None]
        cells.append(
            {
                "protocol": key[0],
                "path": key[1],
                "threads": key[2],
                "client": key[3],
                "label": group[0]["label"],
                "sessionpool": bool(group[0].get("sessionpool")),
                "rounds": len(measured),
                "rps": _median([run["rps"] for run in measured]),
                "ratio": _median(ratios.get(key, [])),
                "p50_ms": _median([run["p50_ms"] for run in measured if run.get("p50_ms") is not None]),
                "p99_ms": _median([run["p99_ms"] for run in measured if run.get("p99_ms") is not None]),
                "connections": sorted(connections),
                "rss_kib": max((run["rss_kib"] for run in measured), default=None),
                "errors": sum(run.get("errors", 0) for run in measured),
                "lost": sum(run.get("lost", 0) for run in measured),
                "discarded": sum(run.get("discarded", 0) for run in group),
                "broken": notes,
                "skipped": next((run["skipped"] for run in group if run.get("skipped")), None),
                "error_samples": sorted({s for run in group for s in run.get("error_samples", [])})[:3],
            }
        )
    return cells
