"""Settings from the environment or `.env` (pydantic-settings); see README, Configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDERS = {"changeme", "change-me", "secret", "xxx", "todo", "placeholder", "your-secret"}


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///loyalty.db", validation_alias=_env("LOYALTY_DATABASE_URL"))
    config: Path | None = Field(None, validation_alias=_env("LOYALTY_CONFIG"))
    timezone: str = Field("Asia/Taipei", validation_alias=_env("LOYALTY_TIMEZONE"))
    locale: str = Field("zh-TW", validation_alias=_env("LOYALTY_LOCALE"))
    admins: Annotated[list[tuple[str, str]], NoDecode] = Field(
        default_factory=list, validation_alias=_env("LOYALTY_ADMINS")
    )
    api_token: SecretStr | None = Field(None, validation_alias=_env("LOYALTY_API_TOKEN"))
    # Per API token, in each web process: requests per second on average, and burst size.
    api_rate_limit: float = Field(20.0, gt=0, validation_alias=_env("LOYALTY_API_RATE_LIMIT"))
    api_rate_burst: int = Field(40, ge=1, validation_alias=_env("LOYALTY_API_RATE_BURST"))
    telegram_bot_token: SecretStr | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET")
    )
    # Without the "@"; only for the invite deep link https://t.me/<username>?start=<code>.
    telegram_bot_username: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_]{5,32}$", validation_alias=_env("TELEGRAM_BOT_USERNAME")
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot", validation_alias=_env("TELEGRAM_API_URL")
    )
    line_channel_secret: SecretStr | None = Field(
        None, validation_alias=_env("LINE_CHANNEL_SECRET")
    )
    line_channel_access_token: SecretStr | None = Field(
        None, validation_alias=_env("LINE_CHANNEL_ACCESS_TOKEN")
    )
    line_api_url: str = Field("https://api.line.me", validation_alias=_env("LINE_API_URL"))
    # `loyalty serve` runs the scheduler (one leader across processes); false for web-only.
    scheduler_enabled: bool = Field(True, validation_alias=_env("LOYALTY_SCHEDULER"))
    # Tests only: every scheduled job runs every this many seconds instead of at its time.
    scheduler_interval_seconds: float | None = Field(
        None, gt=0, validation_alias=_env("LOYALTY_SCHEDULER_INTERVAL_SECONDS")
    )

    @field_validator("admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: object) -> list[tuple[str, str]]:
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return [tuple(item) for item in value]  # type: ignore[misc]
        admins = []
        for item in str(value).split(","):
            item = item.strip()
            if not item:
                continue
            channel, sep, user_id = item.partition(":")
            if not sep or channel not in ("telegram", "line", "console") or not user_id:
                raise ValueError(
                    f"{item!r} should be CHANNEL:USER_ID with CHANNEL telegram, line or console"
                )
            admins.append((channel, user_id))
        return admins

    @field_validator("telegram_bot_username", mode="before")
    @classmethod
    def _bare_username(cls, value: object) -> object:
        # People copy the name as shown in Telegram, with its "@".
        return value.strip().removeprefix("@") or None if isinstance(value, str) else value

    @field_validator("api_token", "telegram_webhook_secret", "line_channel_secret")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; set a real secret")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1–256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None:
            secret = value.get_secret_value()
            if not 1 <= len(secret) <= 256 or not all(c.isalnum() or c in "_-" for c in secret):
                raise ValueError("must be 1–256 characters of letters, digits, _ and -")
        return value

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None

    def config_path(self) -> Path | None:
        """The programme file: LOYALTY_CONFIG, else ./loyalty.toml if present, else none."""
        if self.config is not None:
            return self.config
        default = Path("loyalty.toml")
        return default if default.exists() else None


class SettingsError(Exception):
    pass


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value raises SettingsError naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        if not name.startswith(("LOYALTY_", "TELEGRAM_", "LINE_")):
            name = "LOYALTY_" + name
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"environment: {name}: {message}") from None
    if settings.telegram_enabled and settings.telegram_webhook_secret is None:
        raise SettingsError(
            "environment: TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set "
            "(Telegram sends it with every webhook so strangers cannot post updates)"
        )
    return settings
