"""Searching the whole database for what names a person (erasure tests)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import SQLModel

from core.kernel import Database


def where_found(database: Database, needles: list[str]) -> dict[str, list[str]]:
    """Each needle found, with the tables whose rows hold it in any column (JSON too)."""
    found: dict[str, list[str]] = {needle: [] for needle in needles}
    with database.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(sa.select(table)).all()
            text = json.dumps([list(row) for row in rows], default=str, ensure_ascii=False)
            for needle in needles:
                if needle in text:
                    found[needle].append(table.name)
    return {needle: sorted(tables) for needle, tables in found.items() if tables}
