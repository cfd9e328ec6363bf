"""What a client costs as a whole process tree: CPU seconds, the peak of its summed RSS, and no process left behind.

A client such as ``sessionpool fetch --dask local:2`` is a tree: the command,
its worker processes, their helpers (multiprocessing's resource tracker, a
forkserver). Some of them outlive their parent for a moment, and an orphan is
adopted by init, where its CPU time is lost to the runner. So the runner makes
itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``): orphans of a client
are adopted by the runner instead, which waits for them after the client
exits (or kills them, by PID, if they linger).

- CPU: ``getrusage(RUSAGE_CHILDREN)`` of the runner, before and after. A
  waited-for process adds its own user+sys time and that of every descendant
  it waited for; with the subreaper, the runner waits for the rest. So the
  delta is the CPU of the whole tree, however short-lived its processes.
  Nothing else of the runner exits meanwhile (its servers run throughout).
- Memory: the sum of RSS over the client and its live descendants (and any
  orphan adopted by the runner), sampled every 50 ms by a thread; the highest
  sum is kept. A process that lives less than 50 ms may be missed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.05
LINGER_SECONDS = 10.0  # how long an orphan of a finished client may take to exit before it is killed
_PR_SET_CHILD_SUBREAPER = 36
_PROC_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")  # Linux with CONFIG_PROC_CHILDREN


def become_subreaper() -> bool:
    """Adopt the orphans of this process' descendants (Linux); False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    return False


def children_cpu_seconds() -> float:
    """User+sys seconds of every descendant this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    """User+sys seconds of this process so far (the runner's, sampling included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_seconds() -> float:
    """User+nice+system seconds of every process on the machine so far, all cores together."""
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system)


def tree_cpu_seconds(pids: Collection[int]) -> float:
    """User+sys seconds so far of the live processes ``pids`` and their descendants (for servers, which run on)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    times = process.cpu_times()
                    total += times.user + times.system
    return total


@dataclass(frozen=True)
class TreeRun:
    """How one client process tree ran."""

    returncode: int | None  # None: killed after the timeout
    seconds: float  # wall time from start to the client's exit
    cpu_seconds: float  # user+sys of the whole tree
    peak_rss_bytes: int  # the highest sum of RSS over the tree
    peak_processes: int  # the most processes of the tree alive in one sample
    sampled_cpu_seconds: float  # the same CPU as last seen by the sampler: a lower bound, to cross-check cpu_seconds
    runner_cpu_seconds: float  # what the runner itself spent meanwhile (the sampler, mostly), on the same cores
    stragglers: int  # orphans still running after LINGER_SECONDS, killed


def child_pids(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children, whichever of its threads started them.

    Linux lists them in /proc/PID/task/TID/children: a few small reads, where
    psutil's ``children()`` reads the parent of every process on the machine
    (7 ms here, 14% of a core at 20 samples a second, taken from the client).
    """
    if not _PROC_CHILDREN:
        with contextlib.suppress(psutil.Error):
            return [child.pid for child in psutil.Process(pid).children()]
        return []
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as listing:
                found += [int(child) for child in listing.read().split()]
    return found


class _Sampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped."""

    def __init__(self, root: int, spare: Callable[[], set[int]]) -> None:
        super().__init__(daemon=True)
        self._root = root
        self._spare = spare  # the runner's children that are not the client's (its servers)
        self._done = threading.Event()
        self.peak_rss = 0
        self.peak_processes = 0
        self._processes: dict[int, psutil.Process] = {}
        self.cpu_seen: dict[int, float] = {}  # each process' user+sys at its last sample: a cross-check, a lower bound

    def run(self) -> None:
        runner = os.getpid()
        while not self._done.is_set():
            with contextlib.suppress(psutil.Error):
                self._sample(runner)
            self._done.wait(SAMPLE_SECONDS)

    def _sample(self, runner: int) -> None:
        # Down the tree from the client and from each orphan the runner adopted (a child of the runner
        # that is neither a server nor the client).
        spare = self._spare()
        pending = [self._root, *(pid for pid in child_pids(runner) if pid not in spare)]
        rss = alive = 0
        while pending:
            pid = pending.pop()
            pending += child_pids(pid)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                process = self._processes.get(pid) or self._processes.setdefault(pid, psutil.Process(pid))
                rss += process.memory_info().rss
                times = process.cpu_times()
                self.cpu_seen[pid] = times.user + times.system
                alive += 1
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_processes = max(self.peak_processes, alive)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _reap_orphans(spare: set[int], linger: float) -> int:
    """Wait for the runner's adopted children (all but ``spare``); kill by PID those alive after ``linger`` s."""
    deadline = time.monotonic() + linger
    killed = 0
    while True:
        orphans = [p for p in psutil.Process().children() if p.pid not in spare]
        if not orphans:
            return killed
        for orphan in orphans:
            with contextlib.suppress(ChildProcessError):
                pid, _ = os.waitpid(orphan.pid, os.WNOHANG)
                if pid:
                    continue
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(orphan.pid, 9)
                    killed += 1
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(orphan.pid, 0)
        time.sleep(0.02)


def _kill_tree(root: int) -> None:
    """SIGKILL ``root``'s descendants, then ``root``, each by PID."""
    with contextlib.suppress(psutil.NoSuchProcess):
        for process in psutil.Process(root).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
    with contextlib.suppress(ProcessLookupError):
        os.kill(root, 9)


def run_tree(
    command: list[str],
    *,
    timeout: float,
    servers: Collection[int],
    env: dict[str, str],
    stdout: int | None,
    stderr: int | None,
    preexec_fn: Callable[[], None] | None,
    cwd: Path | None = None,
) -> TreeRun:
    """Run ``command`` to its end (or kill it after ``timeout``) and measure its whole process tree.

    ``servers`` are the runner's other children (left alone). Call
    :func:`become_subreaper` once first, from the main thread, and start no
    other child meanwhile: the CPU figure is a delta of all the runner waits for.
    """
    spare = set(servers)
    cpu_before, own_before = children_cpu_seconds(), own_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, preexec_fn=preexec_fn, cwd=cwd
    )
    sampler = _Sampler(process.pid, lambda: spare | {process.pid})
    sampler.start()
    returncode: int | None = None
    seconds = timeout
    try:
        try:
            returncode = process.wait(timeout=timeout)
            seconds = time.monotonic() - started
        except subprocess.TimeoutExpired:
            pass
    finally:
        if process.poll() is None:
            _kill_tree(process.pid)
            process.wait()
        sampler.stop()
        stragglers = _reap_orphans(spare, LINGER_SECONDS if returncode is not None else 0.0)
    return TreeRun(
        returncode=returncode,
        seconds=seconds,
        cpu_seconds=children_cpu_seconds() - cpu_before,
        peak_rss_bytes=sampler.peak_rss,
        peak_processes=sampler.peak_processes,
        sampled_cpu_seconds=sum(sampler.cpu_seen.values()),
        runner_cpu_seconds=own_cpu_seconds() - own_before,
        stragglers=stragglers,
    )
