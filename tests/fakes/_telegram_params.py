"""Reading Bot API parameters the way Telegram does: query string, form, JSON or multipart.

python-telegram-bot 22 posts every method as `application/x-www-form-urlencoded` (or
`multipart/form-data` when it uploads a file): strings go as they are, everything else
(numbers, booleans, reply_markup, entities, commands, allowed_updates) JSON-encoded.
"""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._http import JSON, Request

# Free text and identifiers that must stay strings even when they look like JSON ("123").
STRING_PARAMS = frozenset(
    {
        "text", "caption", "callback_query_id", "inline_message_id", "parse_mode", "url",
        "secret_token", "ip_address", "data", "description", "short_description", "name",
        "title", "action", "language_code", "photo", "document", "business_connection_id",
        "message_effect_id", "emoji", "question", "explanation", "query", "start_parameter",
        "payload", "currency", "file_id",
    }
)  # fmt: skip
# Structured parameters that a JSON-body client may still send as JSON-encoded strings.
STRUCTURED_PARAMS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "allowed_updates",
        "link_preview_options", "reply_parameters", "scope", "media", "menu_button",
    }
)  # fmt: skip


class ParamsError(ValueError):
    """The body could not be read; str() is Telegram's description."""


def _decode_form_value(name: str, value: str) -> Any:
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _decode_json_value(name: str, value: Any) -> Any:
    if name in STRUCTURED_PARAMS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _multipart(request: Request) -> JSON:
    header = f"Content-Type: {request.headers.get('Content-Type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + request.body)
    if not message.is_multipart():
        raise ParamsError("Bad Request: can't parse multipart/form-data")
    params: JSON = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(content),
            }
        else:
            params[name] = _decode_form_value(name, content.decode("utf-8"))
    return params


def read_params(request: Request) -> JSON:
    """All parameters of one Bot API call, with JSON-encoded values decoded."""
    params: JSON = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    if not request.body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = json.loads(request.body.decode("utf-8"))
        except ValueError as exc:
            raise ParamsError("Bad Request: can't parse JSON object") from exc
        if not isinstance(body, dict):
            raise ParamsError("Bad Request: can't parse JSON object")
        params.update({k: _decode_json_value(k, v) for k, v in body.items()})
    elif content_type == "multipart/form-data":
        params.update(_multipart(request))
    else:  # Telegram treats anything else as a form
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        params.update({k: _decode_form_value(k, v) for k, v in pairs})
    return params
