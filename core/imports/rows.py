"""Past purchases from a POS export (CSV): the header, each row checked on its own, and the
tally of what an import did. Recording the checked rows is core.imports.batches.

Format: `member,order_id,amount,time[,category]`. `member` is the brand's own customer
reference (kept on the member as `external_ref`); `time` is an ISO 8601 date (local midnight
in the programme's time zone) or date-time (programme local time when it has no offset).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.kernel import CLOCK_SKEW, DomainError, InvalidInput, as_utc
from core.members import EXTERNAL_REF_MAX
from core.purchases import ORDER_ID_MAX, parse_amount

HEADER = ("member", "order_id", "amount", "time")
OPTIONAL = ("category",)
CATEGORY_MAX = 64


class BadHeader(DomainError):
    """The file's first line is not the expected header; nothing was imported."""

    code = "import.bad_header"


@dataclass(frozen=True)
class PurchaseRow:
    """One checked row; `line` is its line number in the file (the header is line 1)."""

    line: int
    member_ref: str
    order_id: str
    amount: Decimal
    occurred_at: datetime
    category: str | None


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did, row by row: every data row is counted exactly once."""

    imported: int = 0
    repeated: int = 0
    members_created: int = 0
    conflicts: list[RowProblem] = field(default_factory=list)
    malformed: list[RowProblem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.imported + self.repeated + len(self.conflicts) + len(self.malformed)

    @property
    def refused(self) -> int:
        return len(self.conflicts) + len(self.malformed)

    def problems(self) -> list[tuple[str, RowProblem]]:
        """Conflicts and malformed rows together, in file order."""
        tagged = [("conflict", p) for p in self.conflicts] + [
            ("malformed", p) for p in self.malformed
        ]
        return sorted(tagged, key=lambda item: item[1].line)


def check_header(fields: list[str]) -> bool:
    """True when the optional category column is there; BadHeader for anything else."""
    names = tuple(name.strip().lower() for name in fields)
    if names == HEADER:
        return False
    if names == HEADER + OPTIONAL:
        return True
    raise BadHeader(
        f"the header must be `{','.join(HEADER)}` or `{','.join(HEADER + OPTIONAL)}`",
        found=",".join(fields),
    )


def read_rows(
    lines: Iterable[str], *, zone: ZoneInfo, now: datetime
) -> Iterator[PurchaseRow | RowProblem]:
    """Each data row of a CSV text, checked: a PurchaseRow, or a RowProblem saying why not.

    Raises BadHeader before yielding anything when the first line is not the header. Blank
    lines are skipped; a row's line number is the file line it ends on.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise BadHeader(f"the file is empty; the header must be `{','.join(HEADER)}`")
    with_category = check_header(header)
    width = len(HEADER) + (1 if with_category else 0)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(reader.line_num, f"unreadable CSV: {exc}")
            continue
        if not fields or all(not value.strip() for value in fields):
            continue
        try:
            yield parse_row(fields, line=reader.line_num, width=width, zone=zone, now=now)
        except InvalidInput as exc:
            yield RowProblem(reader.line_num, exc.message)


def parse_row(
    fields: list[str], *, line: int, width: int, zone: ZoneInfo, now: datetime
) -> PurchaseRow:
    if len(fields) != width:
        raise InvalidInput(f"expected {width} columns, found {len(fields)}")
    member_ref, order_id, amount, when = (value.strip() for value in fields[:4])
    category = fields[4].strip() if width == 5 else ""
    if not member_ref:
        raise InvalidInput("the member reference is empty")
    if not order_id:
        raise InvalidInput("the order id is empty")
    if len(member_ref) > EXTERNAL_REF_MAX:
        raise InvalidInput(f"the member reference is longer than {EXTERNAL_REF_MAX} characters")
    if len(order_id) > ORDER_ID_MAX:
        raise InvalidInput(f"the order id is longer than {ORDER_ID_MAX} characters")
    if len(category) > CATEGORY_MAX:
        raise InvalidInput(f"the category must be at most {CATEGORY_MAX} characters")
    try:
        value = parse_amount(amount)
    except InvalidInput as exc:
        raise InvalidInput(f"amount {amount!r}: {exc.message}") from None
    return PurchaseRow(
        line=line,
        member_ref=member_ref,
        order_id=order_id,
        amount=value,
        occurred_at=parse_time(when, zone=zone, now=now),
        category=category or None,
    )


def parse_time(text: str, *, zone: ZoneInfo, now: datetime) -> datetime:
    """An ISO 8601 date (local midnight) or date-time (local when it has no offset), in UTC."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(0))
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"time {text!r} is not an ISO 8601 date (2026-03-01) or date-time "
            "(2026-03-01T14:30 or 2026-03-01T14:30:00+08:00)"
        ) from None
    at = as_utc(moment if moment.tzinfo else moment.replace(tzinfo=zone))
    if at > now + CLOCK_SKEW:
        raise InvalidInput(f"time {text!r} is in the future")
    return at
