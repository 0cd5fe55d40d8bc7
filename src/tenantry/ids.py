"""Public identifiers: 22-character url-safe base64 of 16 random bytes."""

import base64
import secrets


def new_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
