"""The member's own settings: /lang, /stop (and resuming offers), /deleteme with confirmation.

Payloads: `lang:<zh-TW|en>`, `optin`, `erase:yes` / `erase:no`. Erasing needs the
confirmation state set by /deleteme within its time limit, so an old or stray "erase" tap
only asks again.
"""

from __future__ import annotations

from bot.dialogs.common import words
from bot.dialogs.menus import menu_buttons
from bot.dialogs.state import clear_state, get_state, set_state
from bot.dialogs.turn import Turn
from bot.i18n import LOCALES
from core.chat import Button, Reply
from core.members import opt_in, opt_out, set_locale
from core.privacy import erase_member

CONFIRM_ERASE = "confirm_erase"


def lang(turn: Turn) -> Reply:
    args = turn.incoming.args
    if not args:
        return Reply(texts=[turn.t("lang.choose")], buttons=language_buttons(turn))
    return switch(turn, args[0] if len(args) == 1 else "")


def lang_button(turn: Turn, args: list[str]) -> Reply:
    return switch(turn, args[0] if len(args) == 1 else "")


def switch(turn: Turn, wanted: str) -> Reply:
    chosen = next((code for code in LOCALES if code.lower() == wanted.strip().lower()), None)
    if chosen is None:
        return Reply(
            texts=[turn.t("lang.unknown", wanted=wanted[:20]), turn.t("lang.choose")],
            buttons=language_buttons(turn),
        )
    with turn.session() as session:
        set_locale(
            session,
            clock=turn.services.clock,
            member_id=turn.member_id,
            locale=chosen,
            channel=turn.channel,
        )
    turn.refresh_member()  # every later text, this reply's too, in the new language
    return Reply.text(turn.t("lang.changed"), buttons=menu_buttons(turn))


def language_buttons(turn: Turn) -> list[Button]:
    return [Button(turn.t(f"lang.name.{code}"), f"lang:{code}") for code in LOCALES]


def stop(turn: Turn) -> Reply:
    with turn.session() as session:
        result = opt_out(
            session, clock=turn.services.clock, member_id=turn.member_id, channel=turn.channel
        )
    key = "stop.done" if result.changed else "stop.already"
    return Reply.text(
        turn.t(key), turn.t("stop.meaning"), buttons=[Button(turn.t("stop.resume"), "optin")]
    )


def resume(turn: Turn, args: list[str]) -> Reply:
    return Reply.text(resume_offers(turn), buttons=menu_buttons(turn))


def resume_offers(turn: Turn) -> str:
    """Offers on again (the button under /stop, or /start); the text that says so."""
    with turn.session() as session:
        result = opt_in(
            session, clock=turn.services.clock, member_id=turn.member_id, channel=turn.channel
        )
    return turn.t("stop.resumed" if result.changed else "stop.not_stopped")


def deleteme(turn: Turn) -> Reply:
    with turn.session() as session:
        set_state(
            session,
            channel=turn.channel,
            user_id=turn.incoming.user_id,
            state=CONFIRM_ERASE,
            now=turn.now,
        )
    return Reply(
        texts=[turn.t("deleteme.warning"), turn.t("deleteme.ask")],
        buttons=[
            Button(turn.t("deleteme.confirm"), "erase:yes"),
            Button(turn.t("deleteme.cancel"), "erase:no"),
        ],
    )


def erase_button(turn: Turn, args: list[str]) -> Reply:
    if args == ["no"]:
        return cancel(turn)
    if args != ["yes"]:
        return deleteme(turn)
    with turn.services.database.reader() as session:
        state = get_state(
            session, channel=turn.channel, user_id=turn.incoming.user_id, now=turn.now
        )
    if state is None or state.state != CONFIRM_ERASE:
        return deleteme(turn)  # a stale tap: ask again rather than erase unasked
    return erase(turn)


def typed_confirmation(turn: Turn, text: str) -> Reply | None:
    word = text.strip().casefold()
    if word in words(turn.t, "deleteme.yes_words"):
        return erase(turn)
    if word in words(turn.t, "deleteme.no_words"):
        return cancel(turn)
    return None


def erase(turn: Turn) -> Reply:
    t = turn.t  # the goodbye in the member's language: erasing forgets it
    with turn.session() as session:
        result = erase_member(
            session, clock=turn.services.clock, member_id=turn.member_id, actor=turn.actor
        )
    return Reply.text(t("deleteme.done", number=result.number))


def cancel(turn: Turn) -> Reply:
    with turn.session() as session:
        clear_state(session, channel=turn.channel, user_id=turn.incoming.user_id)
    return Reply.text(turn.t("deleteme.cancelled"), buttons=menu_buttons(turn))
