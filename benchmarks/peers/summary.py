"""From client runs to table cells: medians over rounds, ratios to the same round's baseline and urllib3, targets."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from benchmarks.common.rounds import median

PROTOCOLS = ("HTTP", "TLS")
Run = dict[str, Any]  # one client run: where it ran, and the client's JSON line
Cell = dict[str, Any]  # one client at one (env, protocol, path, threads): its rounds summarized
Key = tuple[str, str, str, int, str]
URLLIB3 = "urllib3"  # the transport's own throughput, the other reference
POOLS = {"threadlocalpool": "ThreadLocalPool", "queuepool": "QueuePool(size=T)"}
CURL_POOLS = {"threadlocalpool-curl": "ThreadLocalPool, curl", "queuepool-curl": "QueuePool(size=T), curl"}
RIVALS = {"httpx": "httpx.Client", "niquests": "niquests.Session"}


def cell_key(run: Run) -> Key:
    """Which cell a run belongs to."""
    return (run.get("env", "bare"), run["protocol"], run["path"], run["threads"], run["client"])


def _round(run: Run) -> tuple[str, str, str, int, int]:
    return (run.get("env", "bare"), run["protocol"], run["path"], run["threads"], run["round"])


def round_ratios(runs: list[Run], baseline: str) -> dict[Key, list[float]]:
    """Each run's req/s over the ``baseline`` client's req/s in the same round of the same cell."""
    base = {_round(run): run["rps"] for run in runs if run["client"] == baseline and run.get("rps")}
    ratios: dict[Key, list[float]] = defaultdict(list)
    for run in runs:
        reference = base.get(_round(run))
        if reference and run.get("rps") is not None:
            ratios[cell_key(run)].append(run["rps"] / reference)
    return ratios


def targets(runs: list[Run], threads: list[int] | tuple[int, ...]) -> list[dict[str, Any]]:
    """The issues' targets, each line a median of per-round ratios and PASS or MISS (None: not measured).

    - each pool >= 0.75x urllib3.PoolManager at T=1 and 16, HTTP and TLS, both environments;
    - each pool > 1.0x httpx.Client and niquests.Session at T=1, 4, 16, 64, HTTP and TLS, both environments;
    - each pool >= 1.5x the threading.local Session baseline at T=1 and 16 (HTTP and TLS), both environments;
    - each pool on the curl transport >= 1.0x urllib3.PoolManager at T=1 and >= 1.5x at T=16, HTTP and TLS,
      both environments.
    """
    envs = sorted({run.get("env", "bare") for run in runs})
    wanted: list[tuple[str, str, float, bool, tuple[int, ...], dict[str, str]]] = [
        (URLLIB3, "urllib3.PoolManager", 0.75, True, (1, 16), POOLS)
    ]
    wanted += [(name, label, 1.0, False, (1, 4, 16, 64), POOLS) for name, label in RIVALS.items()]
    wanted.append(("threadlocal-session", "threading.local Session", 1.5, True, (1, 16), POOLS))
    wanted.append((URLLIB3, "urllib3.PoolManager", 1.0, True, (1,), CURL_POOLS))
    wanted.append((URLLIB3, "urllib3.PoolManager", 1.5, True, (16,), CURL_POOLS))
    lines = []
    for reference, label, bound, inclusive, at, pools in wanted:
        ratios = round_ratios(runs, reference)
        skipped = next((run["skipped"] for run in runs if run["client"] == reference and run.get("skipped")), None)
        for pool, pool_label in pools.items():
            for env in envs:
                for protocol in ("HTTP", "TLS"):
                    for t in at:
                        if t not in threads:
                            continue
                        ratio = median(ratios.get((env, protocol, "/tiny", t, pool), []))
                        verdict = None if ratio is None else (ratio >= bound if inclusive else ratio > bound)
                        lines.append(
                            {
                                "pool": pool_label,
                                "against": label,
                                "bound": f"{'≥' if inclusive else '>'} {bound:g}x",
                                "env": env,
                                "protocol": protocol,
                                "threads": t,
                                "ratio": ratio,
                                "verdict": None if verdict is None else ("PASS" if verdict else "MISS"),
                                "why": None if ratio is not None else (skipped or "not measured"),
                            }
                        )
    return lines


def summarize(runs: list[Run], baseline: str) -> list[Cell]:
    """One cell per (protocol, path, threads, client), in the order the runs came."""
    grouped: dict[Key, list[Run]] = {}
    for run in runs:
        grouped.setdefault(cell_key(run), []).append(run)
    ratios = round_ratios(runs, baseline)
    to_urllib3 = round_ratios(runs, URLLIB3)
    cells = []
    for key, group in grouped.items():
        measured = [run for run in group if run.get("rps") is not None]
        notes = sorted({run["broken"] for run in group if run.get("broken")})
        connections = [run["connections"] for run in measured if run.get("connections") is not None]
        cells.append(
            {
                "env": key[0],
                "protocol": key[1],
                "path": key[2],
                "threads": key[3],
                "client": key[4],
                "label": group[0]["label"],
                "sessionpool": bool(group[0].get("sessionpool")),
                "rounds": len(measured),
                "rps": median([run["rps"] for run in measured]),
                "ratio": median(ratios.get(key, [])),
                "ratio_urllib3": median(to_urllib3.get(key, [])),
                "p50_ms": median([run["p50_ms"] for run in measured if run.get("p50_ms") is not None]),
                "p99_ms": median([run["p99_ms"] for run in measured if run.get("p99_ms") is not None]),
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
