"""The results as markdown: what was measured on what, the tables, the notes, the micro-benchmarks."""

from __future__ import annotations

from typing import Any

from benchmarks.common.markdown import machine_tables, table
from benchmarks.peers.summary import PROTOCOLS, Cell

ENVIRONMENT_TITLES = {"bare": "bare environment (no proxy variable)", "no_proxy": "NO_PROXY=localhost,127.0.0.1,::1"}

HOW_TO_READ = """\
- Every run is a fresh subprocess sending the same GETs from T threads released together (a barrier);
  every body is read in full and checked (status 200, expected length). req/s counts those good responses.
- ratio (x) = a client's req/s ÷ the `threading.local Session (baseline)` req/s **of the same round**;
  the table shows the median of the per-round ratios (and the median req/s); "vs urllib3" is the
  median of per-round ratios to `urllib3.PoolManager` of the same round.
- Environments: every client runs twice per round, with every proxy variable removed (http_proxy,
  https_proxy, all_proxy, ftp_proxy, no_proxy, any case) and with `NO_PROXY=localhost,127.0.0.1,::1` (requests
  short-circuits its proxy lookup when NO_PROXY matches); ratios are taken within an environment.
- niquests runs with the python of `.venv-niquests` (its urllib3-future replaces urllib3, so it
  never shares the dev venv); one shared Session, `pool_maxsize=T`, HTTP/2 and HTTP/3 disabled. Rounds interleave the
  clients in a rotated order, so drift on the machine hits every client alike.
- Latency is per request: timed around each call in the calling thread; for requests-futures from
  submit to done with at most T futures in flight (so no time is spent queued); for requests-toolbelt
  inside each worker's session (it owns the threads).
- connections = connections the server accepted during the run (nginx: stub_status `accepts` read
  before and after, less the status reads' own connections; fallback: a shared counter).
- peak RSS = the client process' VmHWM (`ru_maxrss` survives exec, so a child would report its
  parent's peak). The harness loads only the standard library (its barrier is
  `sessionpool/testing/_threads.py` loaded from its file, without importing sessionpool).
- CA bundle: every client is given the test CA explicitly, and requests-based clients keep
  `trust_env` on (the environment is part of what users pay for). This machine sets
  REQUESTS_CA_BUNDLE to the system bundle, and requests lets it override a session's `verify`
  when `trust_env` is on, so every client subprocess runs with REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE
  set to the test CA (in HTTP runs too, where they are unused).
- Each client has 120 s per run (it stops starting requests after 100 s); one killed or losing
  responses is marked † and described under Notes.
"""


def _ms(cell: Cell | None) -> str:
    if cell is None or cell["p50_ms"] is None:
        return "-"
    return f"{cell['p50_ms']:.2f} / {cell['p99_ms']:.2f}"


def _throughput(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    if cell["skipped"]:
        return "not installed"
    if cell["rps"] is None:
        return "broken †"
    ratio = "" if cell["ratio"] is None else f" ({cell['ratio']:.2f}x)"
    return f"{cell['rps']:,.0f}{ratio}{' †' if cell['broken'] else ''}"


def _connections(cell: Cell | None) -> str:
    if cell is None or not cell["connections"]:
        return "-"
    low, high = cell["connections"][0], cell["connections"][-1]
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _rss(cell: Cell | None) -> str:
    return "-" if cell is None or cell["rss_kib"] is None else f"{cell['rss_kib'] / 1024:.1f}"


class Grid:
    """The cells, looked up by (protocol, path, threads, client)."""

    def __init__(self, meta: dict[str, Any], cells: list[Cell], env: str = "bare") -> None:
        self.clients: list[dict[str, Any]] = meta["clients"]
        self.threads: list[int] = meta["plan"]["threads"]
        self.wide: list[int] = meta["plan"]["wide_threads"]
        self.detail = 16 if 16 in self.threads else max(self.threads)
        self._cells = {
            (c["protocol"], c["path"], c["threads"], c["client"]): c for c in cells if c.get("env", "bare") == env
        }

    def get(self, protocol: str, path: str, threads: int, client: str) -> Cell | None:
        return self._cells.get((protocol, path, threads, client))

    def tiny_table(self, protocol: str) -> list[str]:
        d = self.detail
        headers = ["client"] + [f"{t} thread{'s' if t > 1 else ''} req/s (x)" for t in self.threads]
        headers += [f"vs urllib3 @{t}" for t in self.threads]
        headers += [f"p50 / p99 ms @{d}", f"connections @{d}", f"peak RSS MiB @{d}", "errors", "lost"]
        rows = []
        for client in self.clients:
            cells = [self.get(protocol, "/tiny", t, client["name"]) for t in self.threads]
            at = self.get(protocol, "/tiny", d, client["name"])
            errors = sum(c["errors"] for c in cells if c)
            lost = sum(c["lost"] for c in cells if c)
            throughput = [_throughput(c) for c in cells]
            versus = [
                "-" if c is None or c.get("ratio_urllib3") is None else f"{c['ratio_urllib3']:.2f}x" for c in cells
            ]
            rows.append(
                [client["label"], *throughput, *versus, _ms(at), _connections(at), _rss(at), f"{errors:,}", f"{lost:,}"]
            )
        return table(headers, rows)

    def wide_table(self, threads: int) -> list[str]:
        headers = ["client"]
        for protocol in PROTOCOLS:
            headers += [f"{protocol} req/s (x)", f"{protocol} p50 / p99 ms", f"{protocol} connections"]
        rows = []
        for client in self.clients:
            row = [client["label"]]
            for protocol in PROTOCOLS:
                cell = self.get(protocol, "/16k", threads, client["name"])
                row += [_throughput(cell), _ms(cell), _connections(cell)]
            rows.append(row)
        return table(headers, rows)


def notes(cells: list[Cell]) -> list[str]:
    """One line per cell that misbehaved: broken, errors, lost or discarded connections."""
    lines = []
    for cell in cells:
        where = (
            f"{cell['label']}, {cell.get('env', 'bare')}, {cell['protocol']} {cell['path']}, {cell['threads']} threads"
        )
        for note in cell["broken"]:
            lines.append(f"- † {where}: {note}")
        if cell["errors"]:
            lines.append(f"- {where}: {cell['errors']:,} errors, e.g. {'; '.join(cell['error_samples'])}")
        if cell["discarded"]:
            lines.append(
                f"- {where}: urllib3 discarded {cell['discarded']:,} connections over the rounds"
                ' ("Connection pool is full": more connections were in use at once than the pool keeps)'
            )
        if cell["skipped"]:
            lines.append(f"- {where}: skipped, {cell['skipped']}")
    return lines


def _plan_line(meta: dict[str, Any]) -> str:
    plan = meta["plan"]
    threads = ", ".join(str(t) for t in plan["threads"])
    line = (
        f"mode **{plan['mode']}**: threads {threads}; {plan['requests']:,} GETs per run;"
        f" median of {plan['rounds']} round{'s' if plan['rounds'] > 1 else ''}"
    )
    if plan["wide_threads"]:
        line += "; /16k at " + ", ".join(str(t) for t in plan["wide_threads"]) + " threads"
    return line + f"; the whole run took {meta['seconds']:.0f} s."


def _server_line(meta: dict[str, Any]) -> str:
    server = meta["server"]
    if server["fallback"]:
        return (
            f"**Server: {server['description']}.** These numbers say how the clients fare against a slow"
            " server, not what they can do."
        )
    return f"**Server: {server['description']}**, in its own process on 127.0.0.1 (HTTP and TLS listeners)."


def tables(meta: dict[str, Any], cells: list[Cell]) -> list[str]:
    """The throughput tables, under their headings, one set per environment."""
    out = []
    for env in sorted({c.get("env", "bare") for c in cells}):
        grid = Grid(meta, cells, env)
        title = ENVIRONMENT_TITLES.get(env, env)
        for protocol in PROTOCOLS:
            out += ["", f"### {protocol}, /tiny (2-byte body), {title}", "", *grid.tiny_table(protocol)]
        for threads in grid.wide:
            out += ["", f"### /16k (16 KiB static file), {threads} threads, {title}", "", *grid.wide_table(threads)]
    return out


def target_table(verdicts: list[dict[str, Any]]) -> list[str]:
    """The Targets table: one line per (pool, reference, environment, protocol, threads)."""
    rows = []
    for line in verdicts:
        ratio = "-" if line["ratio"] is None else f"{line['ratio']:.2f}x"
        verdict = line["verdict"] or f"n/a ({line['why']})"
        rows.append(
            [
                line["pool"],
                line["against"],
                line["bound"],
                line["env"],
                line["protocol"],
                str(line["threads"]),
                ratio,
                verdict,
            ]
        )
    passed = sum(1 for line in verdicts if line["verdict"] == "PASS")
    missed = sum(1 for line in verdicts if line["verdict"] == "MISS")
    headers = ["pool", "against", "target", "env", "protocol", "threads", "ratio", "verdict"]
    return [
        *table(headers, rows, numbers=False),
        "",
        f"{passed} PASS, {missed} MISS, {len(verdicts) - passed - missed} n/a.",
    ]


def stdout_tables(meta: dict[str, Any], cells: list[Cell], verdicts: list[dict[str, Any]] | None = None) -> str:
    """What the runner prints: the server, the tables, the targets and the notes."""
    lines = [_server_line(meta), _plan_line(meta), *tables(meta, cells)]
    if verdicts is not None:
        lines += ["", "### Targets (medians of per-round ratios, /tiny)", "", *target_table(verdicts)]
    found = notes(cells)
    if found:
        lines += ["", "Notes:", *found]
    return "\n".join(lines)


def render(
    meta: dict[str, Any], cells: list[Cell], micro: dict[str, str], chart: str, verdicts: list[dict[str, Any]]
) -> str:
    """The whole of latest.md."""
    machine = meta["machine"]
    out = [
        "# sessionpool against the alternatives, on loopback",
        "",
        f"{machine['date']}; {_plan_line(meta)}",
        "",
        _server_line(meta),
        "",
        "## How to read these numbers",
        "",
        HOW_TO_READ.rstrip(),
        "",
        "## Machine and versions",
        "",
        *machine_tables(machine, meta["versions"]),
        "",
        "## Targets (medians of per-round ratios, /tiny)",
        "",
        *target_table(verdicts),
        "",
        "## Throughput (req/s, and x the baseline of the same round)",
        *tables(meta, cells),
        "",
        f"![throughput by threads, HTTP and TLS, bare environment]({chart})",
        "",
        "## Notes",
        "",
        *(notes(cells) or ["- nothing broke: no errors, nothing lost, no connection discarded."]),
        "",
        "## Micro-benchmarks (their own output, verbatim)",
    ]
    for command, text in micro.items():
        out += ["", f"`{command}`", "", "```text", text, "```"]
    return "\n".join(out) + "\n"
