"""Rich menus of the fake LINE API: create, upload the image, link per user or as default.

As on LINE, a rich menu must have its image uploaded before it can be linked
("must upload richmenu image before applying it to user"), an image can be uploaded
once, and deleting a menu unlinks it everywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tests.fakes._http import JSON
from tests.fakes._line_validation import LineBadRequest, check_rich_menu

NOT_FOUND = LineBadRequest("Not found", status=404)


@dataclass
class RichMenu:
    rich_menu_id: str
    definition: JSON
    image: bytes | None = None
    image_type: str | None = None

    def as_json(self) -> JSON:
        return {"richMenuId": self.rich_menu_id, **self.definition}


@dataclass
class RichMenus:
    """The rich menu state; the server calls these under its lock."""

    menus: dict[str, RichMenu] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    default: str | None = None

    def reset(self) -> None:
        self.menus.clear()
        self.links.clear()
        self.default = None

    def create(self, body: JSON) -> JSON:
        check_rich_menu(body)
        rich_menu_id = f"richmenu-{uuid.uuid4().hex}"
        definition = {k: v for k, v in body.items() if k != "richMenuId"}
        self.menus[rich_menu_id] = RichMenu(rich_menu_id, definition)
        return {"richMenuId": rich_menu_id}

    def get(self, rich_menu_id: str) -> RichMenu:
        menu = self.menus.get(rich_menu_id)
        if menu is None:
            raise NOT_FOUND
        return menu

    def delete(self, rich_menu_id: str) -> JSON:
        self.get(rich_menu_id)
        del self.menus[rich_menu_id]
        self.links = {user: menu for user, menu in self.links.items() if menu != rich_menu_id}
        if self.default == rich_menu_id:
            self.default = None
        return {}

    def upload(self, rich_menu_id: str, content_type: str, image: bytes) -> JSON:
        if content_type not in ("image/png", "image/jpeg"):
            raise LineBadRequest(f"The content type, {content_type}, is not supported", status=415)
        menu = self.get(rich_menu_id)
        if not image:
            raise LineBadRequest("The request body is empty")
        if menu.image is not None:
            raise LineBadRequest("An image has already been uploaded to the richmenu")
        menu.image, menu.image_type = image, content_type
        return {}

    def _linkable(self, rich_menu_id: str) -> None:
        if self.get(rich_menu_id).image is None:
            raise LineBadRequest("must upload richmenu image before applying it to user")

    def link(self, user_id: str, rich_menu_id: str) -> JSON:
        self._linkable(rich_menu_id)
        self.links[user_id] = rich_menu_id
        return {}

    def bulk_link(self, body: JSON) -> JSON:
        user_ids = body.get("userIds")
        if not isinstance(user_ids, list) or not 1 <= len(user_ids) <= 500:
            raise LineBadRequest(
                "The request body has 1 error(s)",
                [{"message": "Size must be between 1 and 500", "property": "userIds"}],
            )
        self._linkable(str(body.get("richMenuId")))
        for user_id in user_ids:
            self.links[str(user_id)] = str(body["richMenuId"])
        return {}

    def bulk_unlink(self, body: JSON) -> JSON:
        for user_id in body.get("userIds") or []:
            self.links.pop(str(user_id), None)
        return {}

    def unlink(self, user_id: str) -> JSON:
        self.links.pop(user_id, None)
        return {}

    def of_user(self, user_id: str) -> JSON:
        if user_id not in self.links:
            raise LineBadRequest("the user has no richmenu", status=404)
        return {"richMenuId": self.links[user_id]}

    def set_default(self, rich_menu_id: str) -> JSON:
        self._linkable(rich_menu_id)
        self.default = rich_menu_id
        return {}

    def get_default(self) -> JSON:
        if self.default is None:
            raise LineBadRequest("no default richmenu", status=404)
        return {"richMenuId": self.default}

    def clear_default(self) -> JSON:
        self.default = None
        return {}

    def listing(self) -> JSON:
        return {"richmenus": [menu.as_json() for menu in self.menus.values()]}
