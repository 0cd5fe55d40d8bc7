"""Public identifiers: 22-character url-safe base64 of 16 random bytes, never starting with
`-`, which a command line would read as an option (`tenantry databases show -8Xw…`)."""

import base64
import secrets


def new_id() -> str:
    while True:
        value = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not value.startswith("-"):
            return value
