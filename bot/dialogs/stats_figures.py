"""The /stats card's later lines: first-time buyers, retention, NPS, the best campaign."""

from __future__ import annotations

from bot.i18n import Translator
from core.stats import Kpis


def more_figures(t: Translator, kpis: Kpis) -> list[tuple[str, str]]:
    """Fields for the stats card; NPS and the best campaign only when there is one."""
    fields = [
        (t("admin.stats.new_buyers"), t.number(kpis.new_buyers)),
        (
            t("admin.stats.retention"),
            t(
                "admin.stats.retention_value",
                month=share(t, kpis.retention_30d),
                quarter=share(t, kpis.retention_90d),
            ),
        ),
    ]
    if kpis.nps is not None:
        answers = kpis.nps_promoters + kpis.nps_passives + kpis.nps_detractors
        score, answered = t.number(round(kpis.nps)), t.number(answers)
        value = t("admin.stats.nps_value", score=score, answers=answered)
        fields.append((t("admin.stats.nps"), value))
    if kpis.best_campaigns:
        best = kpis.best_campaigns[0]
        value = t(
            "admin.stats.best_campaign_value", name=best.name, rate=share(t, best.redemption_rate)
        )
        fields.append((t("admin.stats.best_campaign"), value))
    return fields


def share(t: Translator, fraction: float | None) -> str:
    """A percentage as the card shows them (whole above 10 %), or the catalog's dash."""
    if fraction is None:
        return t("admin.stats.none")
    value = fraction * 100
    shown = round(value) if value >= 10 or value == 0 else round(value, 1)
    return f"{t.number(shown)}%"
