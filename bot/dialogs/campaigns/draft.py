"""The /broadcast draft kept in the chat state between its steps, and the choices offered
at each step: the audience (in two taps, so no menu holds more than LINE's 13 quick
replies), the second language, the coupon.

Payloads: `bcast:kind:<kind>`, `bcast:seg:<kind>[:<value>]`, `bcast:back`, `bcast:lang`,
`bcast:next`, `bcast:cp:<coupon definition id>|none`, `bcast:go:<flow>`, `bcast:cancel`,
`bcast:report:<campaign id>`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlmodel import col, select

from bot.dialogs.state import DEFAULT_TTL, clear_state, get_state, set_state
from bot.dialogs.turn import Turn
from bot.i18n import LOCALES
from core.campaigns import Segment
from core.chat import Button
from core.models import CouponDefinition
from core.outbox import DeliveryContent
from core.prediction import SEGMENTS as RFM_SEGMENTS
from core.programme import STAGES, Text

BROADCAST = "broadcast"  # the chat state's name while a broadcast is being put together
PREFIX = "bcast"
TTL = DEFAULT_TTL
MAX_COUPONS = 10  # with "no coupon" and "cancel", within LINE's 13 quick replies
Step = Literal["segment", "text", "more", "second", "coupon", "preview"]
KINDS = ("all", "stage", "risk", "tier", "rfm", "birthday")
# Awareness members have not signed up, and segments hold signed-up members only.
STAGE_CHOICES = STAGES[1:]
RISK_CHOICES = ("at_risk", "lapsed")


class Draft(BaseModel):
    """What the admin chose so far. `flow` tells this broadcast's confirm button from an
    older one's; `texts` holds the message per locale."""

    flow: str
    step: Step = "segment"
    segment: dict[str, Any] = {}
    texts: dict[str, str] = {}
    coupon: str | None = None

    @property
    def audience(self) -> Segment:
        return Segment.model_validate(self.segment)

    @property
    def text(self) -> Text:
        """One text goes to every member alike; two are one per language."""
        if len(self.texts) == 1:
            return next(iter(self.texts.values()))
        return dict(self.texts)

    @property
    def content(self) -> DeliveryContent:
        return DeliveryContent(text=self.text, coupon=self.coupon)

    def spec(self, *, name: str) -> dict[str, Any]:
        """The campaign to create: one variant, judged on redemptions when it has a coupon."""
        variant: dict[str, Any] = {"name": "A", "weight": 100, "text": self.text}
        if self.coupon:
            variant["coupon"] = self.coupon
        return {
            "name": name,
            "audience": self.segment,
            "variants": [variant],
            "metric": "redeemed" if self.coupon else "clicked",
        }


def new_draft() -> Draft:
    return Draft(flow=secrets.token_hex(4))


def load_draft(turn: Turn) -> Draft | None:
    """The admin's broadcast in progress, or None (none, expired, or another flow's state)."""
    with turn.services.database.reader() as session:
        state = get_state(session, channel=turn.channel, user_id=turn.incoming.user_id,
                          now=turn.now)  # fmt: skip
        if state is None or state.state != BROADCAST:
            return None
        data = dict(state.data)
    try:
        return Draft.model_validate(data)
    except ValidationError:  # written by an older version: start again
        return None


def save_draft(turn: Turn, draft: Draft) -> None:
    with turn.session() as session:
        set_state(
            session,
            channel=turn.channel,
            user_id=turn.incoming.user_id,
            state=BROADCAST,
            now=turn.now,
            data=draft.model_dump(mode="json"),
            ttl=TTL,
        )


def end_draft(turn: Turn) -> None:
    with turn.session() as session:
        clear_state(session, channel=turn.channel, user_id=turn.incoming.user_id)


def payload(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def cancel_button(turn: Turn) -> Button:
    return Button(turn.t("broadcast.cancel"), payload("cancel"))


# The audience


def kind_buttons(turn: Turn) -> list[Button]:
    """The first tap: everyone, a birthday this month, or a group to choose within."""
    buttons = []
    for kind in KINDS:
        action = ("seg", kind) if kind in ("all", "birthday") else ("kind", kind)
        buttons.append(Button(turn.t(f"broadcast.kind.{kind}"), payload(*action)))
    return [*buttons, cancel_button(turn)]


def option_buttons(turn: Turn, kind: str) -> list[Button] | None:
    """The second tap within a group; None for an unknown group."""
    t = turn.t
    if kind == "stage":
        options = [(code, t(f"admin.stage.{code}")) for code in STAGE_CHOICES]
    elif kind == "risk":
        options = [(code, t(f"admin.risk.{code}")) for code in RISK_CHOICES]
    elif kind == "tier":
        options = [(tier.code, t.pick(tier.name)) for tier in turn.programme.tiers.levels]
    elif kind == "rfm":
        options = [(code, t(f"score.segments.{code}")) for code in RFM_SEGMENTS]
    else:
        return None
    buttons = [Button(label, payload("seg", kind, code)) for code, label in options]
    return [*buttons, Button(t("broadcast.back"), payload("back")), cancel_button(turn)]


def chosen_segment(turn: Turn, args: list[str]) -> Segment | None:
    """The segment a `seg` button stands for; None when the payload is not one we offer."""
    kind, value = (args + [""])[:2]
    if kind == "all" and len(args) == 1:
        return Segment()
    if kind == "birthday" and len(args) == 1:
        return Segment(birthday_month=local_month(turn.now, turn.programme.timezone))
    offered = {
        "stage": STAGE_CHOICES,
        "risk": RISK_CHOICES,
        "tier": tuple(tier.code for tier in turn.programme.tiers.levels),
        "rfm": RFM_SEGMENTS,
    }
    if len(args) != 2 or value not in offered.get(kind, ()):
        return None
    field = {"stage": "stages", "risk": "risk", "tier": "tiers", "rfm": "rfm"}[kind]
    return Segment.model_validate({field: [value]})


def local_month(now: datetime, timezone: str) -> int:
    return now.astimezone(ZoneInfo(timezone)).month


# The languages


def other_locale(turn: Turn) -> str:
    """The language the admin may add after writing in their own."""
    return next(code for code in LOCALES if code != turn.t.locale)


# The coupon


def offered_coupons(turn: Turn) -> list[CouponDefinition]:
    """Active coupons that can be claimed now (or later in their window), oldest first."""
    with turn.services.database.reader() as session:
        rows = session.exec(
            select(CouponDefinition)
            .where(
                col(CouponDefinition.active).is_(True),
                sa.or_(
                    col(CouponDefinition.valid_until).is_(None),
                    col(CouponDefinition.valid_until) > turn.now,
                ),
            )
            .order_by(col(CouponDefinition.id))
            .limit(MAX_COUPONS)
        ).all()
    return list(rows)


def coupon_buttons(turn: Turn, coupons: list[CouponDefinition]) -> list[Button]:
    buttons = [Button(turn.t.pick(row.title), payload("cp", str(row.id))) for row in coupons]
    none = Button(turn.t("broadcast.no_coupon"), payload("cp", "none"))
    return [*buttons, none, cancel_button(turn)]


def coupon_by_id(turn: Turn, value: str) -> CouponDefinition | None:
    if not value.isdecimal() or len(value) > 9:
        return None
    return next((row for row in offered_coupons(turn) if row.id == int(value)), None)
