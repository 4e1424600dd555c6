"""Where a chat conversation stands between messages (a confirmation, a guided flow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from core.models.types import JSONType, UTCDateTime


class ChatState(SQLModel, table=True):
    """Kept in the database so any process can take the user's next message."""

    __tablename__ = "chat_state"

    channel: str = Field(max_length=16, primary_key=True)
    user_id: str = Field(max_length=128, primary_key=True)
    state: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
