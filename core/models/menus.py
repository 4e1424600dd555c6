"""Chat menus made on a platform (LINE rich menus: a default one and one per tier), and how
far members' menus follow their tier changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.types import UTCDateTime


class ChatMenu(SQLModel, table=True):
    """A menu the platform knows by `menu_id`; `key` is "default" or "tier:<code>"."""

    __tablename__ = "chat_menu"

    channel: str = Field(max_length=16, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    menu_id: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ChatMenuSync(SQLModel, table=True):
    """The newest tier change whose member was given the menu of their tier."""

    __tablename__ = "chat_menu_sync"

    channel: str = Field(max_length=16, primary_key=True)
    last_tier_change_id: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = Field(sa_type=UTCDateTime)
