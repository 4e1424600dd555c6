"""/tier: the member's tier, its benefits, the exact way to the next tier, and what keeps it."""

from __future__ import annotations

from bot.dialogs.turn import Turn
from core.chat import Button, Card, Reply
from core.programme import Tier
from core.tiers import TierProgress, tier_progress


def tier(turn: Turn) -> Reply:
    member = turn.refresh_member()
    with turn.services.database.reader() as session:
        progress = tier_progress(session, member=member, now=turn.now, programme=turn.programme)
    return Reply(
        texts=[tier_card(turn, progress)],
        buttons=[
            Button(turn.t("menu.points"), "cmd:points"),
            Button(turn.t("menu.coupons"), "cmd:coupons"),
        ],
    )


def tier_card(turn: Turn, progress: TierProgress) -> Card:
    t, tiers = turn.t, turn.programme.tiers
    current = tiers.by_code(progress.tier)
    fields = [
        (t("tier.benefits"), benefit_lines(turn, current)),
        (t(f"tier.value.{tiers.basis}", months=tiers.window_months), amount(turn, progress.value)),
    ]
    following = tiers.by_code(progress.next_tier) if progress.next_tier else None
    if following is not None:
        fields.append(
            (
                t("tier.next"),
                t(
                    "tier.next_value",
                    tier=t.pick(following.name),
                    amount=amount(turn, progress.needed_for_next),
                ),
            )
        )
        if following.benefits:
            fields.append((t("tier.next_benefits"), benefit_lines(turn, following)))
    return Card(
        kind="tier",
        title=t("tier.title"),
        highlight=t.pick(current.name),
        fields=tuple(fields),
        progress=progress.value / following.threshold if following else None,
        progress_label=(
            t(
                "tier.progress",
                value=amount(turn, progress.value),
                threshold=amount(turn, following.threshold),
            )
            if following
            else None
        ),
        footer="\n".join(
            line for line in (top_line(turn, following), keep_line(turn, progress)) if line
        ),
    )


def keep_line(turn: Turn, progress: TierProgress) -> str:
    """When the tier is reviewed and what keeps it; the starting tier is never reviewed."""
    t = turn.t
    name = t.pick(turn.programme.tiers.by_code(progress.tier).name)
    if progress.expires_at is None:
        return t("tier.no_review", tier=name)
    if progress.needed_to_keep > 0:
        return t(
            "tier.keep_needs",
            tier=name,
            amount=amount(turn, progress.needed_to_keep),
            date=t.date(progress.expires_at),
        )
    return t("tier.keep_done", tier=name, date=t.date(progress.expires_at))


def top_line(turn: Turn, following: Tier | None) -> str:
    return turn.t("tier.top") if following is None else ""


def benefit_lines(turn: Turn, tier: Tier) -> str:
    if not tier.benefits:
        return turn.t("tier.no_benefits")
    return "\n".join(turn.t("tier.bullet", text=turn.t.pick(text)) for text in tier.benefits)


def amount(turn: Turn, value: int) -> str:
    """Qualifying value as the programme counts it: money spent, or growth points."""
    if turn.programme.tiers.basis == "spend":
        return turn.t.money(value)
    return turn.t("tier.growth_amount", value=turn.t.number(value))
