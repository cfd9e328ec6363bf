"""Every Python example of the documentation runs, against local servers this module starts.

The examples of ``docs/*.md`` and ``README.md`` are collected with sybil, one test per page:
a page's examples run in order in one namespace, as a reader reads them,
with ``URL`` (a keep-alive :class:`~sessionpool.testing.LocalServer`),
``CA_BUNDLE`` (a test CA's bundle) and, on pages that use it, ``SCHEDULER``
(an in-process Dask cluster) set up first, in a fresh working directory that
holds a ``urls.txt``. A block titled with a file name (```` ```python
title="green.py" ````) is a script: it runs in an interpreter of its own
(for monkey patching and worker processes), with the same names set at its
top. The Python examples of the docstrings the API reference shows run too.

No example is skipped: a test counts the Python fences of each page with a
parser of its own and fails if sybil found a different number, and every
fence must name a language this module knows.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import trustme
from sybil import Document, Example, Region
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

import sessionpool
from sessionpool import Pool
from sessionpool.testing import LocalServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The pages whose examples run: the docs, and the README (the front page).
PAGES = [ROOT / "README.md", *sorted(path for path in DOCS.rglob("*.md") if "hooks" not in path.parts)]
HOOKS = DOCS / "hooks"

#: Fence languages the docs may use; only ``python`` ones are examples to run.
LANGUAGES = {"python", "text", "sh", "mermaid"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^`\n]*)$", re.MULTILINE)
TITLE = re.compile(r'title="(?P<title>[\w.-]+\.py)"')
SCRIPT_TIMEOUT = 120


def _python_fences(text: str) -> list[str]:
    """The info strings of the page's opening Python fences, found without sybil."""
    infos, open_fence = [], None
    for match in FENCE.finditer(text):
        if open_fence is None:
            open_fence = match.group("info").strip()
            if open_fence.split(" ", 1)[0] == "python":
                infos.append(open_fence)
        else:
            open_fence = None
    return infos


def _languages(text: str) -> set[str]:
    found, open_fence = set(), False
    for match in FENCE.finditer(text):
        if not open_fence:
            found.add(match.group("info").strip().split(" ", 1)[0])
        open_fence = not open_fence
    return found


class Script:
    """An example that runs as a file of its own in a fresh interpreter."""

    def __init__(self, title: str) -> None:
        self.title = title

    def __call__(self, example: Example) -> str | None:
        namespace = example.namespace
        preamble = "".join(f"{name} = {namespace[name]!r}\n" for name in ("URL", "CA_BUNDLE") if name in namespace)
        workdir: Path = namespace["WORKDIR"]
        script = workdir / self.title
        script.write_text(preamble + example.parsed)
        ran = subprocess.run(
            [sys.executable, str(script)], cwd=workdir, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT
        )
        if ran.returncode != 0:
            return f"{self.title} exited {ran.returncode}:\n{ran.stdout}\n{ran.stderr}"
        return None


class PythonFences:
    """A sybil parser: every ```` ```python ```` fence, whatever else its info string holds."""

    def __init__(self) -> None:
        self.lexer = RawFencedCodeBlockLexer(
            info_pattern=re.compile(r"(?P<info>python(?:[ \t][^\n]*)?)$\n", re.MULTILINE),
        )
        self.in_process = PythonEvaluator()

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in self.lexer(document):
            info = region.lexemes["info"]
            region.parsed = region.lexemes["source"]
            title = TITLE.search(info)
            region.evaluator = Script(title.group("title")) if title else self.in_process
            yield region


@pytest.fixture(scope="module")
def ca_bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[Any]:
    """An in-process Dask cluster (one worker, two threads, profiler off), made when a page asks for it."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _close_pools(namespace: dict[str, Any]) -> None:
    for value in list(namespace.values()):
        if isinstance(value, Pool):
            value.close()


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_the_examples_of_a_page_run(
    page: Path, request: pytest.FixtureRequest, tmp_path: Path, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = Document.parse(str(page), PythonFences())
    examples = list(document)
    assert len(examples) == len(_python_fences(page.read_text())), "sybil and the fence count disagree"
    with LocalServer() as server:
        (tmp_path / "urls.txt").write_text("".join(f"{server.url}/page/{n}\n" for n in range(40)))
        monkeypatch.chdir(tmp_path)
        namespace = document.namespace
        namespace.update(URL=server.url, CA_BUNDLE=ca_bundle, WORKDIR=tmp_path, __name__="__docs__")
        if "SCHEDULER" in page.read_text():
            namespace["SCHEDULER"] = request.getfixturevalue("scheduler").scheduler.address
        try:
            for example in examples:
                example.evaluate()
        finally:
            _close_pools(namespace)
        if any(re.search(r"\bURL\b", example.parsed) for example in examples):
            assert server.requests, "the examples name URL but sent it nothing"


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_fence_names_a_known_language(page: Path) -> None:
    unknown = _languages(page.read_text()) - LANGUAGES
    assert not unknown, f"{page.name}: fences in {unknown}; a Python example must be tagged python to run"


def test_the_pages_hold_the_examples() -> None:
    """The fence counter itself finds examples, so the per-page count check means something."""
    counts = {page.name: len(_python_fences(page.read_text())) for page in PAGES}
    assert sum(counts.values()) >= 30
    assert counts["ecosystem.md"] >= 10
    assert _python_fences('```python title="a.py"\nx\n```\n  ```python\n  y\n  ```\n```text\nz\n```\n') == [
        'python title="a.py"',
        "python",
    ]


# -- the examples of the docstrings the API reference renders ----------------


def _rendered_objects() -> list[tuple[str, Any]]:
    """Every object named by a ``::: name`` line of docs/reference/, with its public members."""
    objects = []
    for page in sorted((DOCS / "reference").glob("*.md")):
        for name in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.MULTILINE):
            try:
                target: Any = importlib.import_module(name)
            except ModuleNotFoundError:
                module, _, attribute = name.rpartition(".")
                target = getattr(importlib.import_module(module), attribute)
            objects.append((name, target))
            members = (
                [(member, getattr(target, member)) for member in getattr(target, "__all__", [])]
                if inspect.ismodule(target)
                else [(member, value) for member, value in vars(target).items() if not member.startswith("_")]
                if inspect.isclass(target)
                else []
            )
            objects += [(f"{name}.{member}", value) for member, value in members]
    return objects


def _docstring_examples() -> list[tuple[str, str]]:
    sys.path.insert(0, str(HOOKS))
    try:
        from griffe_rest import docstring_examples
    finally:
        sys.path.remove(str(HOOKS))
    found = []
    for name, target in _rendered_objects():
        doc = target.__doc__ if isinstance(getattr(target, "__doc__", None), str) else None
        if isinstance(target, property):
            doc = target.__doc__
        for code in docstring_examples(inspect.cleandoc(doc)) if doc else []:
            found.append((name, code))
    return found


DOCSTRING_EXAMPLES = _docstring_examples()


def test_the_reference_shows_docstring_examples() -> None:
    names = {name for name, _ in DOCSTRING_EXAMPLES}
    assert {"sessionpool.fetch_all", "sessionpool.dask.worker_pool", "sessionpool.testing"} <= names


@pytest.mark.parametrize(("name", "code"), DOCSTRING_EXAMPLES, ids=[name for name, _ in DOCSTRING_EXAMPLES])
def test_a_docstring_example_runs(name: str, code: str, request: pytest.FixtureRequest) -> None:
    from sessionpool.dask import PoolPlugin, worker_pool

    with LocalServer() as server:
        namespace: dict[str, Any] = {
            "__name__": "__docs__",
            "sessionpool": sessionpool,
            "urls": [f"{server.url}/page/{n}" for n in range(20)],
        }
        if "client" in code:
            client = request.getfixturevalue("scheduler")
            client.register_plugin(PoolPlugin(sessionpool.PoolConfig(timeout=5.0)))
            namespace.update(client=client, worker_pool=worker_pool)
        try:
            exec(compile(textwrap.dedent(code), f"<docstring of {name}>", "exec"), namespace)
        finally:
            _close_pools(namespace)
        assert server.requests or "client.run" in code or name == "sessionpool.testing"


# -- figures: copied from benchmarks/results, never made up -------------------

EN_DASH = "\u2013"  # ranges in the docs table (32-80 with an en dash); the results file writes a hyphen
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)? \(\d+\.\d+x\)")


@pytest.mark.parametrize("page", [ROOT / "README.md", DOCS / "performance.md"], ids=["README.md", "performance.md"])
def test_the_headline_figures_are_those_of_the_last_run(page: Path) -> None:
    latest = (ROOT / "benchmarks" / "results" / "latest.md").read_text()
    figures = FIGURE.findall(page.read_text())
    assert len(figures) >= 40
    missing = [figure for figure in figures if not re.search(rf"\b{re.escape(figure)}", latest)]
    assert not missing, f"not in benchmarks/results/latest.md: {missing}"


def _appears(number: str, text: str) -> bool:
    """Whether ``number`` is in ``text`` as written, or as a figure there rounded to its decimals."""
    if number.replace(EN_DASH, "-") in text:
        return True
    if "." not in number:
        return False
    decimals = len(number.split(".")[1])
    wanted = Decimal(number.replace(",", ""))
    return any(
        Decimal(found.replace(",", "")).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP) == wanted
        for found in re.findall(r"\d[\d,]*\.\d+", text)
    )


def test_the_scaleout_figures_are_those_of_the_last_run() -> None:
    scaleout = (ROOT / "benchmarks" / "results" / "scaleout.md").read_text()
    page = (DOCS / "scale-out.md").read_text()
    table = page[page.index("| client | URLs/s") :].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(rows) >= 7
    for row in rows:
        numbers = re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:\u2013\d+)?(?![\w.])", row.split("|", 2)[2])
        assert numbers
        for number in numbers:
            assert _appears(number, scaleout), f"{number} of {row!r} is not in benchmarks/results/scaleout.md"
    assert not _appears("9,999", scaleout)
    assert not _appears("0.05", "0.068")


def test_the_config_reference_covers_every_field() -> None:
    """The generator the build uses names every field and finds a refused value for each."""
    sys.path.insert(0, str(HOOKS))
    try:
        import fields
    finally:
        sys.path.remove(str(HOOKS))
    text = fields.reference("sessionpool.PoolConfig")
    for field in dataclasses.fields(sessionpool.PoolConfig):
        assert f"### `{field.name}` {{ #poolconfig-{field.name} }}" in text
        assert f"PoolConfig({field.name}=" in text
    assert "ValueError: PoolConfig.pool_maxsize must be an int >= 1, got 0" in text


def test_the_source_layout_names_every_module() -> None:
    """docs/development.md's map of src/sessionpool names every module, so a newcomer finds each one there."""
    page = (DOCS / "development.md").read_text(encoding="utf-8")
    layout = page[page.index("```text\nsrc/sessionpool/") : page.index("\ntests/ ")]
    source = ROOT / "src" / "sessionpool"
    missing = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        package = relative.name == "__init__.py" and len(relative.parts) > 1
        named = f"{relative.parent}/" if package else relative.name  # a package is named by its folder
        if not re.search(rf"(?<![\w/]){re.escape(named)}", layout):
            missing.append(str(relative))
    assert missing == [], f"not in docs/development.md's source layout: {missing}"
