"""Reading the programme file (`loyalty.toml`): TOML → Programme, with errors that name the
file, the field and what is wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.kernel import ConfigError
from core.programme.config import Programme


def load_programme(
    path: str | Path | None, *, timezone: str | None = None, locale: str | None = None
) -> Programme:
    """The programme from a TOML file, or the built-in defaults when `path` is None;
    `timezone` and `locale` (from settings) override the file.

    Raises ConfigError naming the file, the field and what is wrong."""
    overrides = {
        name: value
        for name, value in (("timezone", timezone), ("locale", locale))
        if value is not None
    }
    if path is None:
        return parse_programme(overrides, source="settings")
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntax)", f"not valid TOML: {exc}") from None
    return parse_programme(raw | overrides, source=str(path))


def parse_programme(raw: dict[str, Any], *, source: str = "<config>") -> Programme:
    try:
        return Programme.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _field_path(error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling against loyalty.example.toml)"
        raise ConfigError(source, field, message) from None


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif str(item).startswith(("function-", "union[", "str", "dict[")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)
