"""Griffe extension: the reST bits of sessionpool's docstrings read as Markdown in the API reference.

The docstrings are written for Sphinx-style tools (``:param x:`` fields,
which mkdocstrings' ``sphinx`` style reads as they are); this extension
turns what Markdown would show raw into its Markdown form: roles such as
``:class:`~sessionpool.PoolConfig``` become code (`PoolConfig`), and a
literal block introduced by ``::`` becomes a fenced block, ``python`` when
it is Python, ``text`` otherwise (a diagram). ``docstring_examples`` gives
the Python ones to the test that runs every example of the docs.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):`~?\.?(?P<name>[^`]+)`")
#: A paragraph ending in ``::``, a blank line, then the indented block.
LITERAL = re.compile(
    r"(?P<lead>[^\n]*?)::\n\n(?P<block>(?:(?:[ \t]+[^\n]*)?\n)*?(?:[ \t]+[^\n]*))(?=\n\S|\n\n\S|\n*\Z)"
)


def _is_python(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def literal_blocks(text: str) -> list[str]:
    """The ``::`` literal blocks of a docstring, dedented."""
    return [textwrap.dedent(m.group("block")).strip("\n") for m in LITERAL.finditer(text)]


def docstring_examples(text: str) -> list[str]:
    """The Python literal blocks of a docstring: what the reference shows as Python examples."""
    return [block for block in literal_blocks(text) if _is_python(block)]


def to_markdown(text: str) -> str:
    """One docstring's reST roles and literal blocks in Markdown."""

    def fence(match: re.Match[str]) -> str:
        lead = match.group("lead")
        code = textwrap.dedent(match.group("block")).strip("\n")
        language = "python" if _is_python(code) else "text"
        # "text::" keeps a colon; a line that was only "::" introduces nothing.
        lead = f"{lead}:" if lead.strip() else lead
        indent = re.match(r"[ \t]*", lead).group(0) if lead.strip() else ""
        body = textwrap.indent(f"```{language}\n{code}\n```", indent)
        return f"{lead}\n\n{body}\n" if lead.strip() else f"{body}\n"

    return ROLE.sub(lambda m: f"`{m.group('name')}`", LITERAL.sub(fence, text))


class RestToMarkdown(griffe.Extension):
    """Rewrite every docstring griffe loads from reST roles and literal blocks to Markdown."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each object as it is loaded."""
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
