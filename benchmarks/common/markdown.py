"""The result files' markdown: tables, and the machine-and-versions tables every report ends with."""

from __future__ import annotations


def table(headers: list[str], rows: list[list[str]], *, numbers: bool = True) -> list[str]:
    """A markdown table, the first column left-aligned, the others right-aligned if ``numbers``."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        rest = [c.rjust(w) if numbers else c.ljust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        padded = [cells[0].ljust(widths[0]), *rest]
        return "| " + " | ".join(padded) + " |"

    right = ":" if numbers else "-"
    rule = "|" + "|".join([":" + "-" * (widths[0] + 1)] + ["-" * (w + 1) + right for w in widths[1:]]) + "|"
    return [line(headers), rule, *(line(row) for row in rows)]


def machine_tables(machine: dict[str, str], versions: dict[str, str]) -> list[str]:
    """What the numbers were measured on (machine.describe(), less the date) and with (the versions)."""
    return [
        *table(["what", "value"], [[k, str(v)] for k, v in machine.items() if k != "date"], numbers=False),
        "",
        *table(["package", "version"], [[k, v] for k, v in versions.items()], numbers=False),
    ]
