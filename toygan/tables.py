"""The one Markdown table writer: every table the lab writes goes through it."""

from __future__ import annotations


def _cell(value) -> str:
    text = "—" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """The lines of a GitHub-flavoured Markdown table (``None`` prints as a dash; a ``|`` inside
    a cell is escaped)."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {row}")
    return ["| " + " | ".join(_cell(h) for h in header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)]
