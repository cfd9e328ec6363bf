"""The scale-out results as markdown: a table per environment, the scale-out verdicts, notes, the machine."""

from __future__ import annotations

from typing import Any

from benchmarks.common.markdown import machine_tables, table

Row = dict[str, Any]  # one (environment, client): its rounds summarized (run.summarize)

HOW_TO_READ = """\
- Every run is a fresh process tree fetching the whole list, each URL once, at concurrency T (threads, or
  curl's --parallel-max, or Scrapy's CONCURRENT_REQUESTS); the runner then reads back its records
  (`sessionpool fetch -o`, curl's `--write-out`, the scripts' JSON lines). A run counts only if it exited 0
  and every URL came back 200; any other run is left out of the medians and shown under errors and Notes.
- URLs/s = URLs ÷ the wall time of the whole command, start to exit: interpreter start, imports, and for
  `--dask local:2` making and closing the local cluster, are included, as a user waits for them.
- x 1 process = a client's URLs/s ÷ that of `sessionpool fetch` in one process **in the same round and
  environment**; the table shows the median of the per-round ratios (other columns: medians of the runs).
- client CPU = user+sys seconds of the client's whole process tree: the runner's RUSAGE_CHILDREN before and
  after the run. A process' own time reaches it when its parent waits for it, and the runner is a child
  subreaper, so worker processes (`--processes`, Dask's nanny-spawned workers, multiprocessing's helpers)
  are counted even when they outlive their parent.
- server CPU = user+sys seconds of all nginx processes (masters and workers) during the run (psutil).
  nginx shares the machine's cores with the client: on 2 cores, server CPU is taken from the client.
- peak memory = the highest sum of RSS over the client's live process tree, sampled every 50 ms (shared pages
  are counted once per process, as RSS does).
- other load = the machine's user+nice+system CPU seconds during the run, less the client's, nginx's and the
  runner's own (its sampling), ÷ the run's wall time: the cores that other work on the machine took while the
  client ran (2 cores here). Near 0 on a quiet machine (within ±0.05, and ±0.2 on runs of about a second:
  the machine-wide figure is counted in clock ticks); the table shows the highest over the rounds. A high one
  means other work competed with that client: its figures are pessimistic.
- connections opened = connections the nginx instances accepted during the run (stub_status `accepts`,
  read before and after, less the reads' own).
- bare: every proxy variable removed from the client's environment; no-proxy: the same, plus
  NO_PROXY=no_proxy={no_proxy} (requests reads the environment on every request).
"""


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _errors(row: Row) -> str:
    if row["skipped"]:
        return "not run"
    parts = []
    if row["errors"]:
        parts.append(f"{row['errors']:,} errors")
    if row["missing"]:
        parts.append(f"{row['missing']:,} missing")
    if row["failed_runs"]:
        parts.append(f"{row['failed_runs']} failed run{'s' if row['failed_runs'] > 1 else ''} †")
    if row["complete"] < row["runs"] and not parts:
        parts.append("incomplete †")
    return ", ".join(parts) or "0"


def _connections(row: Row) -> str:
    if row["connections"] is None:
        return "-"
    low, high = row["connections"]
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _throughput(row: Row) -> str:
    if row["skipped"]:
        return "not run †"
    if row["urls_per_s"] is None:
        return "failed †"
    partial = "" if row["complete"] == row["runs"] else f" ({row['complete']}/{row['runs']} runs)"
    return f"{row['urls_per_s']:,.0f}{partial}"


def env_table(rows: list[Row], env: str) -> list[str]:
    """The clients' figures in one environment."""
    headers = [
        "client",
        "URLs/s",
        "x 1 process",
        "client CPU s / 1k URLs",
        "server CPU s",
        "peak memory MiB",
        "connections opened",
        "other load, cores (max)",
        "errors",
    ]
    body = []
    for row in rows:
        if row["env"] != env:
            continue
        body.append(
            [
                row["label"],
                _throughput(row),
                _num(row["ratio"], ".2f"),
                _num(row["cpu_per_1k"], ".3f"),
                _num(row["server_cpu_seconds"], ".2f"),
                _num(row["peak_rss_mib"], ".1f"),
                _connections(row),
                _num(row["other_cores"], ".2f"),
                _errors(row),
            ]
        )
    return table(headers, body)


def verdicts(rows: list[Row]) -> list[str]:
    """The ratios that have a target, against it, per environment."""
    body = []
    for row in rows:
        if row["target"] is None:
            continue
        ratio = row["ratio"]
        verdict = "NOT MEASURED †" if ratio is None else "PASS" if ratio >= row["target"] else "MISS"
        body.append([row["label"], row["env"], _num(ratio, ".3f"), f">= {row['target']:.1f}", verdict])
    return table(["client", "environment", "x 1 process", "target", "verdict"], body)


def notes(rows: list[Row]) -> list[str]:
    """One line per row that misbehaved, with the reason."""
    lines = []
    for row in rows:
        where = f"{row['label']} ({row['env']})"
        if row["skipped"]:
            lines.append(f"- † {where}: not run: {row['skipped']}")
        for failure in row["failed"]:
            lines.append(f"- † {where}: {failure}")
        if row["errors"] or row["missing"]:
            samples = f", e.g. {'; '.join(row['samples'])}" if row["samples"] else ""
            lines.append(f"- {where}: {row['errors']:,} errors, {row['missing']:,} URLs missing{samples}")
    return lines


def _plan_line(meta: dict[str, Any]) -> str:
    plan = meta["plan"]
    return (
        f"mode **{plan['mode']}**: {plan['urls']:,} URLs over {plan['hosts']} hosts, concurrency {plan['threads']},"
        f" median of {plan['rounds']} round{'s' if plan['rounds'] > 1 else ''},"
        f" environments {', '.join(plan['environments'])}; the whole run took {meta['seconds']:.0f} s."
    )


def tables(meta: dict[str, Any], rows: list[Row]) -> list[str]:
    """The per-environment tables and the verdicts, under their headings."""
    out = []
    for env in meta["plan"]["environments"]:
        out += ["", f"### Environment: {env}", "", *env_table(rows, env)]
    out += ["", "### Against the targets", "", *verdicts(rows)]
    return out


def stdout_tables(meta: dict[str, Any], rows: list[Row]) -> str:
    """What the runner prints: the plan, the tables and the notes."""
    lines = [f"Server: {meta['server']}", _plan_line(meta), *tables(meta, rows)]
    found = notes(rows)
    if found:
        lines += ["", "Notes:", *found]
    return "\n".join(lines)


def render(meta: dict[str, Any], rows: list[Row]) -> str:
    """The whole of scaleout.md."""
    machine = meta["machine"]
    out = [
        "# Scale-out: sessionpool fetch in 1 process, in 2 and on Dask; and the tools users pick instead",
        "",
        f"{machine['date']}; {_plan_line(meta)}",
        "",
        f"**Server: {meta['server']}.** The URLs are distinct (`?n=<i>`) and interleaved round-robin"
        " over the hosts; every client gets the same list and the same concurrency T.",
        "",
        "## How to read these numbers",
        "",
        HOW_TO_READ.format(no_proxy=meta["no_proxy"]).rstrip(),
        "",
        "## Results",
        *tables(meta, rows),
        "",
        "## Notes",
        "",
        *(notes(rows) or ["- nothing failed: every run exited 0 and got every URL back with status 200."]),
        "",
        "## Machine and versions",
        "",
        *machine_tables(machine, meta["versions"]),
    ]
    return "\n".join(out) + "\n"
