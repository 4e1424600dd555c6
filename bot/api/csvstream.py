"""Streaming CSV answers: rows are written out in batches as they are read, never all at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse

# A spreadsheet runs a cell that starts like a formula; a leading quote keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvResponse(StreamingResponse):
    media_type = "text/csv; charset=utf-8"


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) and not _number(text) else text


def _number(text: str) -> bool:
    """Negative numbers start with "-" too, and must stay numbers."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_chunks(header: list[str], batches: Iterable[list[list[object]]]) -> Iterator[str]:
    """The header, then one chunk of text per batch of rows."""
    yield _lines([header])
    for batch in batches:
        if batch:
            yield _lines([[cell(value) for value in row] for row in batch])


def text_chunks(text: str, size: int = 64 * 1024) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _lines(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def csv_attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_doc(description: str, example: str) -> dict[str, Any]:
    """The `responses=` entry of a 200 CSV answer."""
    return {
        "description": description,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
    }
