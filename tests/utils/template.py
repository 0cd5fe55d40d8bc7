"""Template documents the tests load: `DOCUMENT`, a row in three tables; and
`MARKED_TEMPLATE`, a row in every table, each carrying `TEMPLATE_MARK` and known ids, so
that a response showing the template's rows can be told from one showing a database's."""

import base64
import uuid
from typing import Any

from tenantry.data.template import Document

LOBBY_ID = "6f1c2a8e-3b7d-4c1e-9a55-0d2b8f6e4a10"
DOCUMENT: dict[str, Any] = {
    "spaces": [
        {
            "space_id": LOBBY_ID,
            "name": "Lobby",
            "description": "Where everyone starts",
            "metadata": {"floor": 1, "tags": ["a", "b"]},
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
    "space_backgrounds": [
        {
            "space_id": LOBBY_ID,
            "content_type": "image/png",
            "sha256": "0" * 64,
            "data": base64.b64encode(b"\x89PNG fake").decode(),
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
    "tenant_models": [
        {
            "tenant_model_id": "1a2b3c4d-0000-4000-8000-000000000001",
            "name": "Default",
            "description": None,
            "model_id": "gpt-x",
            "alias": "default",
            "is_enabled": True,
            "overrides": {"temperature": 0.2},
            "created_at": "2026-01-02T03:04:05+00:00",
            "updated_at": "2026-01-02T03:04:05+00:00",
        },
    ],
}


def filled(document: Document) -> Document:
    """The tables of `document` that hold rows."""
    return {table: rows for table, rows in document.items() if rows}


TEMPLATE_MARK = "tmplmark"
SPACE_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a01"
MODEL_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a02"
DOCUMENT_ID = f"{TEMPLATE_MARK}-doc"
TENANT_ID = f"{TEMPLATE_MARK}-tenant"
ITEM_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a03"
USER_ID = "0c5b8f8e-7d1e-4d8a-9a4f-2f6f3c1b2a04"
STAMP = "2026-01-02T03:04:05+00:00"
TEMPLATE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


MARKED_TEMPLATE: dict[str, Any] = {
    "spaces": [
        {
            "space_id": SPACE_ID,
            "name": f"{TEMPLATE_MARK} lobby",
            "description": None,
            "metadata": {"mark": TEMPLATE_MARK},
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "space_backgrounds": [
        {
            "space_id": SPACE_ID,
            "content_type": "image/png",
            "sha256": "0" * 64,
            "data": _b64(TEMPLATE_PNG),
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "tenant_models": [
        {
            "tenant_model_id": MODEL_ID,
            "name": f"{TEMPLATE_MARK} model",
            "description": None,
            "model_id": None,
            "alias": None,
            "is_enabled": True,
            "overrides": {},
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    "documents": [
        {
            "id": DOCUMENT_ID,
            "title": f"{TEMPLATE_MARK} title",
            "content": "",
            "content_type": "plaintext",
            "language": "en",
            "metadata": {},
            "source_uri": None,
            "tenant_id": TENANT_ID,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ],
    # `m`, the one property the template's and the tests' items and users carry, declared
    # (writes of undeclared properties are refused), so every database starts with it.
    "item_properties": [
        {"property_name": "m", "value_type": "unicode", "repeated": False, "indexed": False}
    ],
    "user_properties": [
        {"property_name": "m", "value_type": "unicode", "repeated": False, "indexed": False}
    ],
    "items": [{"item_id": _b64(uuid.UUID(ITEM_ID).bytes), "properties": {"m": TEMPLATE_MARK}}],
    "users": [{"user_id": _b64(uuid.UUID(USER_ID).bytes), "properties": {"m": TEMPLATE_MARK}}],
    "ratings": [
        {
            "user_id": _b64(uuid.UUID(USER_ID).bytes),
            "item_id": _b64(uuid.UUID(ITEM_ID).bytes),
            "rating": 5.0,
            "timestamp": 1.0,
        },
    ],
}
