"""What an outbox delivery says: a text per locale (or a catalog key), buttons, a coupon.

Campaign variants and automation messages share this shape. Button taps come back as
`cc:<ref>:<index>` (see `button_payload`), where <index> points into `actions()`: the
attached coupon's claim button first, then the buttons in order.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.chat import MAX_PAYLOAD_BYTES, MAX_TEXT_CHARS
from core.programme import Text, pick_text

CLICK_PREFIX = "cc"
MAX_BUTTONS = 4  # LINE's buttons template holds four actions; more is no longer a choice
MAX_LABEL_CHARS = 20  # LINE's quick-reply and action label limit
MAX_URL_CHARS = 1000  # LINE's uri action limit
COMMAND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
URL = re.compile(r"^https?://[^\s]+$")
COUPON_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The longest click reference: "c" + campaign id + "-" + run ("c2147483647-99999").
MAX_REF_CHARS = 17

Action = Literal["coupon", "url", "command"]


class ButtonSpec(BaseModel):
    """A button under the message: claim a coupon, open a URL, or run a member command
    (`value` is then the command's name, e.g. "points")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Text
    action: Action
    value: Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS)]

    @field_validator("label")
    @classmethod
    def _label(cls, value: Text) -> Text:
        for text in [value] if isinstance(value, str) else list(value.values()):
            if not text.strip():
                raise ValueError("a button needs a label")
            if len(text) > MAX_LABEL_CHARS:
                raise ValueError(f"a button label has at most {MAX_LABEL_CHARS} characters")
        return value

    @model_validator(mode="after")
    def _value(self) -> ButtonSpec:
        if self.action == "url" and not (
            URL.match(self.value) and len(self.value) <= MAX_URL_CHARS
        ):
            raise ValueError("a link button needs an http(s) URL")
        if self.action == "command" and not COMMAND.match(self.value.removeprefix("/")):
            raise ValueError(f"{self.value!r} is not a command name (like points)")
        if self.action == "coupon" and not COUPON_CODE.match(self.value):
            raise ValueError(f"{self.value!r} is not a coupon code")
        return self

    @property
    def command(self) -> str:
        return self.value.removeprefix("/")


class DeliveryContent(BaseModel):
    """The message: `text` (one string, or one per locale), or `text_key` naming a catalog
    text the sender fills with `params`; buttons; and a coupon whose claim button is added."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Text | None = None
    text_key: Annotated[str, Field(pattern=r"^[a-z0-9_.]{1,100}$")] | None = None
    params: dict[str, str | int] = {}
    buttons: list[ButtonSpec] = []
    coupon: Annotated[str, Field(pattern=COUPON_CODE.pattern)] | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: Text | None) -> Text | None:
        if value is None:
            return None
        texts = [value] if isinstance(value, str) else list(value.values())
        if not texts or any(not text.strip() for text in texts):
            raise ValueError("the message text is empty")
        if any(len(text) > MAX_TEXT_CHARS for text in texts):
            raise ValueError(f"the message text has more than {MAX_TEXT_CHARS} characters")
        return value

    @model_validator(mode="after")
    def _whole(self) -> DeliveryContent:
        if (self.text is None) == (self.text_key is None):
            raise ValueError("a message needs either a text or a text_key")
        if len(self.actions()) > MAX_BUTTONS:
            raise ValueError(f"a message has at most {MAX_BUTTONS} buttons, the coupon included")
        for index, button in enumerate(self.actions()):
            if button.action == "command":
                _check_payload(f"cmd:{button.command}")
            _check_payload(button_payload("c" + "9" * (MAX_REF_CHARS - 1), index))
        return self

    def actions(self) -> list[ButtonSpec]:
        """The tappable actions in payload order: the attached coupon first."""
        attached = (
            [ButtonSpec(label="-", action="coupon", value=self.coupon)] if self.coupon else []
        )
        return attached + list(self.buttons)

    def text_for(self, locale: str, fallback: str = "zh-TW") -> str | None:
        """The literal text in `locale`; None when the text comes from the catalog."""
        return None if self.text is None else pick_text(self.text, locale, fallback)

    def coupons(self) -> set[str]:
        return {button.value for button in self.actions() if button.action == "coupon"}


def button_payload(ref: str, index: int) -> str:
    """`cc:<ref>:<index>`: <ref> is a delivery id, or `c<campaign>-<run>` for campaign
    messages (the same for every recipient, so LINE can multicast them; the tapping
    member tells which delivery it was)."""
    return f"{CLICK_PREFIX}:{ref}:{index}"


def campaign_ref(campaign_id: int, run: int) -> str:
    return f"c{campaign_id}-{run}"


def parse_ref(ref: str) -> tuple[int, int] | int | None:
    """(campaign id, run) for a campaign reference, a delivery id, or None when malformed."""
    if ref.isdecimal() and len(ref) <= 18:
        return int(ref)
    match = re.fullmatch(r"c(\d{1,10})-(\d{1,5})", ref)
    if match:
        return int(match[1]), int(match[2])
    return None


def parse_content(raw: DeliveryContent | dict[str, Any]) -> DeliveryContent:
    return raw if isinstance(raw, DeliveryContent) else DeliveryContent.model_validate(raw)


def _check_payload(payload: str) -> None:
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the button payload {payload!r} is over {MAX_PAYLOAD_BYTES} bytes")
