"""/broadcast, a guided promotion for admins, /campaigns, and /cancel.

/broadcast: audience (two taps) → the message (typed; a second language optional) → a
coupon or none → the preview (audience size, LINE's quota share, the message as members
see it) → send. The draft lives in the chat state (bot/dialogs/campaigns/draft.py) and
expires with it. Sending creates the campaign once per draft — the confirm button carries
the draft's flow id, the idempotency key is made of it, so a redelivered or repeated tap
finds the first campaign — and launches it, which is idempotent itself.

The router refuses the commands to non-admins; the `bcast:` buttons check it themselves
(a button reaches its handler whoever taps it) and audit a refusal the same way.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session

from bot.delivery import Renderer, push_channels
from bot.dialogs.admin.support import admin_command, audit_action
from bot.dialogs.admin.views import SEPARATOR, label
from bot.dialogs.campaigns import draft as drafts
from bot.dialogs.campaigns import views
from bot.dialogs.campaigns.draft import BROADCAST, Draft, payload
from bot.dialogs.common import words
from bot.dialogs.state import clear_state, get_state
from bot.dialogs.turn import Turn
from bot.i18n import LOCALES
from bot.line import read_line_quota
from core.campaigns import (
    Segment,
    audience_by_channel,
    audience_count,
    campaign_report,
    create_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
)
from core.chat import Button, Reply
from core.coupons import find_definition
from core.kernel import run_once
from core.outbox import OutboxRow
from core.staff import record_audit

RECENT = 5  # campaigns /campaigns shows: each card counts its campaign's deliveries


class _Created(BaseModel):
    campaign_id: int


class _Stale(Exception):
    """The confirm tap belongs to no open preview: expired, cancelled or replaced."""


# /broadcast


@admin_command("broadcast")
def broadcast(turn: Turn) -> Reply:
    drafts.save_draft(turn, drafts.new_draft())
    return Reply(texts=[turn.t("broadcast.start")], buttons=drafts.kind_buttons(turn))


def broadcast_button(turn: Turn, args: list[str]) -> Reply:
    if not turn.is_admin:
        return _refuse(turn, args)
    action, rest = (args[0] if args else ""), args[1:]
    if action == "report" and len(rest) == 1 and rest[0].isdecimal() and len(rest[0]) <= 9:
        return report(turn, int(rest[0]))
    if action == "cancel":
        return cancel_broadcast(turn)
    if action == "go" and len(rest) == 1:
        return confirm(turn, rest[0])
    draft = drafts.load_draft(turn)
    if draft is None:
        return Reply.text(turn.t("broadcast.expired", minutes=_ttl_minutes()))
    step = {"kind": "segment", "back": "segment", "seg": "segment", "lang": "more",
            "next": "more", "cp": "coupon"}.get(action)  # fmt: skip
    if step is None or step != draft.step:
        return _ask(turn, draft, hint=True)
    if action == "kind":
        buttons = drafts.option_buttons(turn, rest[0]) if len(rest) == 1 else None
        if buttons is None:
            return _ask(turn, draft, hint=True)
        return Reply(texts=[turn.t(f"broadcast.choose.{rest[0]}")], buttons=buttons)
    if action == "back":
        return _ask(turn, draft)
    if action == "seg":
        return _segment_chosen(turn, draft, drafts.chosen_segment(turn, rest))
    if action == "lang":
        return _next(turn, draft.model_copy(update={"step": "second"}))
    if action == "next":
        return _next(turn, draft.model_copy(update={"step": "coupon"}))
    return _coupon_chosen(turn, draft, rest[0] if len(rest) == 1 else "")


def typed(turn: Turn, text: str) -> Reply | None:
    if not turn.is_admin:
        return None  # no longer an admin: the text is an ordinary message
    draft = drafts.load_draft(turn)
    if draft is None:
        return None
    if text.strip().casefold() in words(turn.t, "broadcast.cancel_words"):
        return cancel_broadcast(turn)
    if draft.step in ("text", "more"):
        texts = {turn.t.locale: text.strip()}
        return _next(turn, draft.model_copy(update={"step": "more", "texts": texts}))
    if draft.step == "second":
        texts = {**draft.texts, drafts.other_locale(turn): text.strip()}
        return _next(turn, draft.model_copy(update={"step": "coupon", "texts": texts}))
    return _ask(turn, draft, hint=True)


def _segment_chosen(turn: Turn, draft: Draft, segment: Segment | None) -> Reply:
    if segment is None:
        return _ask(turn, draft, hint=True)
    spec = segment.model_dump(mode="json", exclude_defaults=True)
    return _next(turn, draft.model_copy(update={"step": "text", "segment": spec}))


def _coupon_chosen(turn: Turn, draft: Draft, value: str) -> Reply:
    coupon = None
    if value != "none":
        found = drafts.coupon_by_id(turn, value)
        if found is None:
            return _ask(turn, draft, hint=True)
        coupon = found.code
    return _next(turn, draft.model_copy(update={"step": "preview", "coupon": coupon}))


def _next(turn: Turn, draft: Draft) -> Reply:
    drafts.save_draft(turn, draft)
    return _ask(turn, draft)


def _ask(turn: Turn, draft: Draft, *, hint: bool = False) -> Reply:
    """The current step's question (again, with a hint, after an answer it cannot take)."""
    t = turn.t
    reply = _question(turn, draft)
    if hint:
        reply.texts.insert(0, t("broadcast.use_buttons"))
    return reply


def _question(turn: Turn, draft: Draft) -> Reply:
    t, cancel = turn.t, drafts.cancel_button(turn)
    own, other = t(f"lang.name.{t.locale}"), t(f"lang.name.{drafts.other_locale(turn)}")
    if draft.step == "segment":
        return Reply(texts=[t("broadcast.start")], buttons=drafts.kind_buttons(turn))
    if draft.step == "text":
        count = _count(turn, draft.audience)
        return Reply(
            texts=[views.audience_line(turn, draft.audience, count),
                   t("broadcast.type_message", language=own, other=other)],
            buttons=[cancel],
        )  # fmt: skip
    if draft.step == "more":
        return Reply(
            texts=[t("broadcast.saved", language=own)],
            buttons=[Button(t("broadcast.add_language", language=other), payload("lang")),
                     Button(t("broadcast.next"), payload("next")), cancel],
        )  # fmt: skip
    if draft.step == "second":
        return Reply(texts=[t("broadcast.type_second", language=other)], buttons=[cancel])
    if draft.step == "coupon":
        coupons = drafts.offered_coupons(turn)
        return Reply(texts=[t("broadcast.choose_coupon")],
                     buttons=drafts.coupon_buttons(turn, coupons))  # fmt: skip
    return _preview(turn, draft)


def _count(turn: Turn, segment: Segment) -> int:
    with turn.services.database.reader() as session:
        return audience_count(session, segment, turn.now, push_channels(turn.services))


def _preview(turn: Turn, draft: Draft) -> Reply:
    t, services = turn.t, turn.services
    channels = push_channels(services)
    with services.database.reader() as session:
        count = audience_count(session, draft.audience, turn.now, channels)
        by_channel = audience_by_channel(session, draft.audience, turn.now, channels)
        samples = _samples(turn, draft, session)
        coupon = t.pick(find_definition(session, draft.coupon).title) if draft.coupon else None
    summary = [views.audience_line(turn, draft.audience, count)]
    if by_channel:
        summary.append(t("broadcast.preview.channels", channels=SEPARATOR.join(
            f"{label(t, 'channel', name)} {t.number(n)}"
            for name, n in sorted(by_channel.items()))))  # fmt: skip
    if "line" in channels:
        quota = read_line_quota(services.settings)
        summary.append(views.quota_line(t, by_channel.get("line", 0), quota))
    summary.append(t("broadcast.preview.coupon", coupon=coupon) if coupon
                   else t("broadcast.preview.no_coupon"))  # fmt: skip
    return views.preview_reply(turn, flow=draft.flow, summary=summary, samples=samples,
                               count=count)  # fmt: skip


def _samples(turn: Turn, draft: Draft, session: Session) -> list[tuple[str, Reply]]:
    """The message rendered as the senders render it, in each language it is written in
    (one text for everyone: in the admin's)."""
    locales = [turn.t.locale] if len(draft.texts) == 1 else list(LOCALES)
    content = draft.content.model_dump(mode="json", exclude_defaults=True)
    rows = [
        OutboxRow(id=0, member_id=0, campaign_id=None, run=0, variant="A", automation=None,
                  channel=turn.channel, user_id="", locale=locale, promotional=True,
                  content=content, batch_key="", attempts=0)
        for locale in locales
    ]  # fmt: skip
    renderer = Renderer(turn.programme)
    renderer.load(session, rows)
    return [(row.locale, renderer.render(row)) for row in rows]


# Sending


def confirm(turn: Turn, flow: str) -> Reply:
    """Create the campaign once per draft, launch it (a repeat launches nothing more),
    close the draft, and audit the launch once."""
    draft = drafts.load_draft(turn)
    try:
        with turn.session() as session:
            created = run_once(
                session,
                key=f"broadcast:{turn.actor[:120]}:{flow[:16]}",
                operation="broadcast",
                request={"flow": flow},
                result_type=_Created,
                now=turn.now,
                work=lambda: _create(turn, session, draft, flow),
            )
    except _Stale:
        return Reply.text(turn.t("broadcast.expired", minutes=_ttl_minutes()))
    with turn.session() as session:
        result = launch_campaign(session, clock=turn.services.clock,
                                 campaign_id=created.campaign_id,
                                 channels=push_channels(turn.services))  # fmt: skip
    if draft is not None and draft.flow == flow:
        drafts.end_draft(turn)
    with turn.services.database.reader() as session:
        campaign = get_campaign(session, created.campaign_id)
    if result.started:
        audit_action(turn, "broadcast", target=f"campaign:{campaign.id}", details={
            "audience": campaign.audience, "coupon": draft.coupon if draft else None,
            "languages": sorted(draft.texts) if draft else [], "targeted": result.targeted,
            "run": result.run})  # fmt: skip
    return views.launched_reply(turn, campaign, result)


def _create(turn: Turn, session: Session, draft: Draft | None, flow: str) -> _Created:
    if draft is None or draft.flow != flow or draft.step != "preview":
        raise _Stale()
    view = create_campaign(
        session,
        clock=turn.services.clock,
        programme=turn.programme,
        spec=draft.spec(name=views.campaign_name(turn, draft.audience)),
        created_by=turn.actor,
    )
    return _Created(campaign_id=view.id)


def cancel_broadcast(turn: Turn) -> Reply:
    drafts.end_draft(turn)
    return Reply.text(turn.t("broadcast.cancelled"))


def cancel(turn: Turn) -> Reply:
    """End whatever guided step the chat is in: a broadcast, an erase confirmation."""
    with turn.services.database.reader() as session:
        state = get_state(session, channel=turn.channel, user_id=turn.incoming.user_id,
                          now=turn.now)  # fmt: skip
        name = state.state if state is not None else None
    if name is None:
        return Reply.text(turn.t("cancel.nothing"))
    if name == BROADCAST:
        return cancel_broadcast(turn)
    with turn.session() as session:
        clear_state(session, channel=turn.channel, user_id=turn.incoming.user_id)
    return Reply.text(turn.t("cancel.done"))


# /campaigns


@admin_command("campaigns")
def campaigns(turn: Turn) -> Reply:
    with turn.services.database.reader() as session:
        recent = list_campaigns(session, limit=RECENT)
        reports = [campaign_report(session, campaign_id=c.id) for c in recent]
    audit_action(turn, "campaigns", target=None)
    if not reports:
        return Reply.text(turn.t("broadcast.list.empty"))
    cards = [views.campaign_card(turn.t, turn.programme, found) for found in reports]
    return Reply(texts=[turn.t("broadcast.list.heading"), *cards])


def report(turn: Turn, campaign_id: int) -> Reply:
    with turn.services.database.reader() as session:
        found = campaign_report(session, campaign_id=campaign_id)
    audit_action(turn, "campaign_report", target=f"campaign:{campaign_id}")
    return Reply(texts=[views.report_card(turn.t, turn.programme, found)])


def _refuse(turn: Turn, args: list[str]) -> Reply:
    with turn.session() as session:
        record_audit(
            session,
            actor=turn.actor,
            action=f"button:{drafts.PREFIX}",
            target=":".join(args)[:160] or None,
            allowed=False,
            details={"reason": "not an admin"},
            clock=turn.services.clock,
        )
    return Reply.text(turn.t("admin.refused"))


def _ttl_minutes() -> int:
    return int(drafts.TTL.total_seconds() // 60)
