"""/mydata: everything we keep about the member, from the privacy export, in their own words.

One message per part (profile, chat accounts, tier and points, purchases, coupons, surveys,
check-ins and referrals), each well under a chat message's length: long lists show the
most recent entries and say how many more there are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.dialogs.turn import Turn
from core.chat import Button, Reply
from core.privacy import export_member_data

RECENT = 10  # entries shown per list


def mydata(turn: Turn) -> Reply:
    with turn.services.database.reader() as session:
        data = export_member_data(session, member_id=turn.member_id)
    parts = [part(turn, data) for part in PARTS]
    return Reply(
        texts=[turn.t("mydata.intro"), *[text for text in parts if text], turn.t("mydata.outro")],
        buttons=[Button(turn.t("mydata.erase"), "cmd:deleteme")],
    )


def profile(turn: Turn, data: dict[str, Any]) -> str:
    t, p, consent = turn.t, data["profile"], data["consent"]
    lines = [
        t("mydata.number", value=p["number"]),
        t("mydata.name", value=p["display_name"] or t("mydata.none")),
        t("mydata.phone", value=p["phone"] or t("mydata.none")),
        t("mydata.email", value=p["email"] or t("mydata.none")),
        t("mydata.birthday", value=p["birthday"] or t("mydata.none")),
        t("mydata.language", value=t(f"lang.name.{turn.member.locale}")),
        t("mydata.timezone", value=p["timezone"]),
        t("mydata.joined", date=when(turn, p["joined_at"]), channel=channel(turn, p["joined_on"])),
        t("mydata.consent", version=consent["version"], date=when(turn, consent["given_at"])),
        t("mydata.stage", value=label(turn, "mydata.stages", p["stage"])),
        t("mydata.offers_off" if p["opted_out"] else "mydata.offers_on"),
        t("mydata.invite_code", value=p["invite_code"]),
    ]
    tags = ", ".join(data["tags"])
    if tags:
        lines.append(t("mydata.tags", value=tags))
    return section(turn, "mydata.profile", lines)


def identities(turn: Turn, data: dict[str, Any]) -> str:
    lines = [
        turn.t(
            "mydata.identity",
            channel=channel(turn, row["channel"]),
            user_id=row["platform_user_id"],
            date=when(turn, row["first_seen_at"]),
        )
        for row in data["identities"]
    ]
    return section(turn, "mydata.accounts", lines)


def tier_and_points(turn: Turn, data: dict[str, Any]) -> str:
    t, tier, points = turn.t, data["tier"], data["points"]
    name = t.pick(turn.programme.tiers.by_code(tier["current"]).name)
    lines = [
        t("mydata.tier", tier=name, date=when(turn, tier["since"])),
        t(
            "mydata.points",
            balance=t.number(points["balance"]),
            pending=t.number(points["pending"]),
            earned=t.number(points["earned_total"]),
        ),
    ]
    ledger = points["ledger"]
    lines += recent(
        turn,
        ledger,
        lambda row: t(
            "mydata.ledger_entry",
            date=when(turn, row["at"]),
            amount=signed(turn, row["amount"]),
            what=label(turn, "mydata.sources", row["source"]),
        ),
    )
    return section(turn, "mydata.tier_points", lines)


def purchases(turn: Turn, data: dict[str, Any]) -> str:
    t, rows = turn.t, data["purchases"]
    if not rows:
        return section(turn, "mydata.purchases", [t("mydata.none")])
    total = sum((Decimal(row["amount"]) - Decimal(row["refunded"]) for row in rows), Decimal(0))
    lines = [t("mydata.purchase_total", count=t.number(len(rows)), amount=t.money(total))]
    lines += recent(
        turn,
        rows,
        lambda row: t(
            "mydata.purchase",
            date=when(turn, row["at"]),
            order=row["order_id"],
            amount=t.money(Decimal(row["amount"])),
            points=t.number(row["points_earned"]),
        ),
    )
    return section(turn, "mydata.purchases", lines)


def coupons(turn: Turn, data: dict[str, Any]) -> str:
    t = turn.t
    lines = recent(
        turn,
        data["coupons"],
        lambda row: t(
            "mydata.coupon",
            title=t.pick(row["title"]),
            code=row["code"],
            status=label(turn, "mydata.coupon_status", row["status"]),
            date=when(turn, row["claimed_at"]),
        ),
    )
    return section(turn, "mydata.coupons", lines or [t("mydata.none")])


def surveys(turn: Turn, data: dict[str, Any]) -> str:
    t, lines = turn.t, []
    for survey in data["surveys"][-RECENT:]:
        rule = turn.programme.survey(survey["survey"])
        questions = {q.key: t.pick(q.text) for q in rule.questions} if rule else {}
        lines.append(
            t(
                "mydata.survey",
                survey=t.pick(rule.title) if rule else survey["survey"],
                status=label(turn, "mydata.survey_status", survey["status"]),
            )
        )
        lines += [
            t(
                "mydata.answer",
                question=questions.get(answer["question"], answer["question"]),
                value=answer_value(turn, answer),
            )
            for answer in survey["answers"]
        ]
    return section(turn, "mydata.surveys", lines or [t("mydata.none")])


def activity(turn: Turn, data: dict[str, Any]) -> str:
    t, checkins, referrals = turn.t, data["checkins"], data["referrals"]
    lines = [t("mydata.checkins", count=t.number(len(checkins)))]
    if checkins:
        last = checkins[-1]
        lines.append(t("mydata.last_checkin", date=last["day"], streak=t.number(last["streak"])))
    invited_at = referrals["invited_by_a_member_at"]
    lines.append(
        t("mydata.invited_by", date=when(turn, invited_at))
        if invited_at
        else t("mydata.not_invited")
    )
    lines.append(t("mydata.friends_invited", count=t.number(referrals["friends_invited"])))
    return section(turn, "mydata.activity", lines)


PARTS: tuple[Callable[[Turn, dict[str, Any]], str], ...] = (
    profile,
    identities,
    tier_and_points,
    purchases,
    coupons,
    surveys,
    activity,
)


def section(turn: Turn, title_key: str, lines: list[str]) -> str:
    return "\n".join([turn.t(title_key), *lines])


def recent(
    turn: Turn, rows: list[dict[str, Any]], line: Callable[[dict[str, Any]], str]
) -> list[str]:
    """The newest RECENT rows (the export lists oldest first), and how many are left out."""
    shown = [line(row) for row in reversed(rows[-RECENT:])]
    if len(rows) > RECENT:
        shown.append(turn.t("mydata.more", count=turn.t.number(len(rows) - RECENT)))
    return shown


def when(turn: Turn, iso: str | None) -> str:
    return turn.t.datetime(datetime.fromisoformat(iso)) if iso else turn.t("mydata.none")


def signed(turn: Turn, amount: int) -> str:
    return ("+" if amount > 0 else "") + turn.t.number(amount)


def channel(turn: Turn, name: str | None) -> str:
    return label(turn, "mydata.channels", name or "")


def label(turn: Turn, prefix: str, code: str) -> str:
    """A stored code (a stage, a status, a ledger source) in words; unknown codes as they are."""
    key = f"{prefix}.{code}"
    return turn.t(key) if code and turn.t.has(key) else code


def answer_value(turn: Turn, answer: dict[str, Any]) -> str:
    if answer.get("skipped"):
        return turn.t("mydata.skipped")
    if answer.get("text") is not None:
        return str(answer["text"])
    return str(answer.get("number")) if answer.get("number") is not None else turn.t("mydata.none")
