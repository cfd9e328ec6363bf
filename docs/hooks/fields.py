"""MkDocs hook: the field reference of sessionpool's value objects, generated from the code.

A page that holds the line ``<!-- fields: sessionpool.PoolConfig -->`` gets,
in its place, a table of every field of that frozen dataclass with its
default (read from ``dataclasses.fields``), followed by a section per field:
what it does (the class docstring's ``:param <field>:`` text) and what a
wrong value raises (the class is built with that value, here, at build time,
and the message it raised is quoted). A field without a ``:param:`` line, or
one for which no wrong value is refused, fails the build: the page cannot
drift from the code.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import textwrap
import typing
from collections.abc import Callable, Mapping
from typing import Any

MARKER = re.compile(r"^<!-- fields: (?P<target>[\w.]+) -->$", re.MULTILINE)
ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):`~?(?P<name>[^`]+)`")
PARAM = re.compile(r"^:param (?P<name>\w+):(?P<text>.*?)(?=^:\w|^\S|\Z)", re.MULTILINE | re.DOTALL)

#: Wrong values tried for a field, by the kind of value it takes, the first
#: one the class refuses being shown. A field whose kind is none of these is
#: tried with every candidate in turn.
CANDIDATES: dict[str, tuple[Any, ...]] = {
    "bool": ("yes", 1),
    "int": (0, -1, "10"),
    "float": (-1.0, "5", 0),
    "str": (123, ""),
    "mapping": (["not", "a", "mapping"], {"Name": 1}),
    "callable": ("not callable", 1),
    "tuple": ("http://proxy:3128", 1, (1,)),
    "other": (-1, 0, "x", ["x"], object()),
}

#: A wrong value chosen by hand where the generic one would say less.
OVERRIDES: dict[str, dict[str, Any]] = {
    "PoolConfig": {
        "timeout": (5.0, -1),
        "verify": "/no/such/ca-bundle.pem",
        "cert": "/no/such/client.pem",
        "socket_options": ((6, 1),),
        "source_address": ("10.0.0.5",),
        "proxies": {"https": 3128},
        "retry": 3,
        "per_host_burst": 4,
        "autothrottle": True,
        "proxy_rotation": ("ftp://proxy:21",),
    },
    "RetryPolicy": {
        "retry_methods": "GET",
        "transient_statuses": (200,),
    },
    "FetchOptions": {
        "method": "GET /",
        "pool_kind": "shared",
    },
}


def _kind(hint: Any) -> str:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    origin = typing.get_origin(hint)
    if origin is typing.Union and len(args) == 1:
        return _kind(args[0])
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float"
    if hint is str:
        return "str"
    if origin in (Mapping, dict) or hint is Mapping:
        return "mapping"
    if origin is Callable or origin is typing.Callable:
        return "callable"
    if origin is tuple:
        return "tuple"
    return "other"


def _load(target: str) -> type:
    module, _, name = target.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"{target} is not a dataclass")
    return cls


def plain(text: str) -> str:
    """Docstring reST made Markdown: roles become code, ``literal`` becomes `literal`."""
    text = ROLE.sub(lambda m: f"`{m.group('name')}`", text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def sentence(text: str) -> str:
    """A ``:param:`` text as a paragraph (or several): first letter capitalised, a full stop at the end."""
    first, _, rest = plain(text).strip().partition("\n")
    body = (first.strip() + "\n" + textwrap.dedent(rest)).strip()
    body = body[:1].upper() + body[1:]
    return body if body.endswith((".", ")", ":")) else body + "."


def descriptions(cls: type) -> dict[str, str]:
    """Each ``:param name:`` text of the class docstring, by name."""
    doc = inspect.getdoc(cls) or ""
    return {m.group("name"): sentence(m.group("text")) for m in PARAM.finditer(doc)}


def default_of(field: dataclasses.Field[Any]) -> Any:
    """A field's default value, made by its factory if it has one."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise ValueError(f"field {field.name} has no default")


def show(value: Any) -> str:
    """A default as a reader would write it."""
    if isinstance(value, Mapping) and not value:
        return "{}"
    if inspect.isclass(value) or inspect.isroutine(value):
        top = value.__module__.split(".")[0]
        if getattr(importlib.import_module(top), value.__qualname__, None) is value:
            return f"{top}.{value.__qualname__}"
        return f"{value.__module__}.{value.__qualname__}"
    if dataclasses.is_dataclass(value) and value == type(value)():
        return f"{type(value).__name__}()"
    if isinstance(value, frozenset):
        return "{" + ", ".join(repr(item) for item in sorted(value)) + "}"
    return repr(value)


def refusal(cls: type, name: str, kind: str) -> tuple[Any, BaseException]:
    """A wrong value for the field, and the error the class raised for it."""
    overrides = OVERRIDES.get(cls.__name__, {})
    candidates = (overrides[name],) if name in overrides else CANDIDATES[kind]
    for value in candidates:
        try:
            cls(**{name: value})
        except (TypeError, ValueError) as error:
            return value, error
    raise ValueError(
        f"{cls.__name__}.{name}: none of {candidates!r} is refused; give the field a wrong value"
        f" in OVERRIDES of {__file__}"
    )


def reference(target: str) -> str:
    """The Markdown that replaces a ``<!-- fields: target -->`` marker."""
    cls = _load(target)
    hints = typing.get_type_hints(cls)
    texts = descriptions(cls)
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if f.name not in texts]
    if missing:
        raise ValueError(f"{target}: no ':param' text in its docstring for {', '.join(missing)}")
    short = cls.__name__
    lines = ["| field | default |", "|---|---|"]
    for f in fields:
        lines.append(f"| [`{f.name}`](#{short.lower()}-{f.name}) | `{show(default_of(f))}` |")
    lines.append("")
    for f in fields:
        value, error = refusal(cls, f.name, _kind(hints[f.name]))
        message = str(error).replace("`", "'")
        lines += [
            f"### `{f.name}` {{ #{short.lower()}-{f.name} }}",
            "",
            texts[f.name],
            "",
            f"Default: `{show(default_of(f))}`. A wrong value, `{short}({f.name}={value!r})`, raises:",
            "",
            "```text",
            f"{type(error).__name__}: {message}",
            "```",
            "",
        ]
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """MkDocs hook: replace every fields marker of a page with its reference."""
    return MARKER.sub(lambda m: reference(m.group("target")), markdown)
