"""Values that credentials, both planes' APIs and the control-plane tables share."""

from enum import StrEnum


class Role(StrEnum):
    ROOT = "root"
    MANAGER = "manager"
    BACKEND = "backend"
    FRONTEND = "frontend"


class DatabaseStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
