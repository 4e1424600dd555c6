"""Every chat command, button, chat state and text handler, in the one table the router
dispatches on (DESIGN §3 "Chat commands")."""

from __future__ import annotations

from bot.dialogs import account, coupons, member, mydata, rewards, surveys, tiers
from bot.dialogs.admin import commands as admin
from bot.dialogs.campaigns import buttons as campaign_buttons
from bot.dialogs.campaigns import commands as campaigns
from bot.dialogs.campaigns.draft import BROADCAST
from bot.dialogs.campaigns.draft import PREFIX as BROADCAST_PREFIX
from bot.dialogs.registry import ButtonRoute, Command, StateRoute, Table
from core.outbox import CLICK_PREFIX

TABLE = Table(
    commands=[
        # Members. Before joining, only these four answer; the others ask to join first.
        Command("start", member.start, needs_signup=False),
        Command("help", member.help_, needs_signup=False),
        Command("lang", account.lang, needs_signup=False),
        Command("cancel", campaigns.cancel, needs_signup=False),  # any guided step
        Command("points", member.points),
        Command("tier", tiers.tier),
        Command("coupons", coupons.coupons),
        Command("survey", surveys.survey),
        Command("invite", rewards.invite),
        Command("checkin", rewards.checkin),
        Command("stop", account.stop),
        Command("mydata", mydata.mydata),
        Command("deleteme", account.deleteme),
        # Admins: refused (and audited) for anyone else; an admin need not have joined.
        Command("stats", admin.stats, admin=True, needs_signup=False),
        Command("sale", admin.sale, admin=True, needs_signup=False),
        Command("use", admin.use, admin=True, needs_signup=False),
        Command("grant", admin.grant, admin=True, needs_signup=False),
        Command("member", admin.member, admin=True, needs_signup=False),
        Command("broadcast", campaigns.broadcast, admin=True, needs_signup=False),
        Command("campaigns", campaigns.campaigns, admin=True, needs_signup=False),
    ],
    buttons=[
        ButtonRoute("consent", member.consent, needs_signup=False),
        ButtonRoute("consent_later", member.consent_later, needs_signup=False),
        ButtonRoute("lang", account.lang_button, needs_signup=False),
        ButtonRoute("optin", account.resume),
        ButtonRoute("erase", account.erase_button),
        ButtonRoute(coupons.CLAIM, coupons.claim),
        ButtonRoute(surveys.GO, surveys.go),
        ButtonRoute(surveys.ANSWER, surveys.tapped_answer),
        ButtonRoute(surveys.STOP, surveys.stop),
        ButtonRoute(CLICK_PREFIX, campaign_buttons.campaign_button),
        # The broadcast buttons check for an admin themselves, and audit a refusal.
        ButtonRoute(BROADCAST_PREFIX, campaigns.broadcast_button, needs_signup=False),
    ],
    states=[
        StateRoute(account.CONFIRM_ERASE, account.typed_confirmation),
        StateRoute(BROADCAST, campaigns.typed),
    ],
    texts=[
        member.typed_invite_code,  # a prospect's friend's code, typed on LINE
        surveys.typed_answer,  # a member's answer to the survey's current question
    ],
)
