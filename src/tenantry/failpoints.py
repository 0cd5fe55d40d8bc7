"""Named points where tests stop the process dead, to prove that work survives a crash.

`TENANTRY_FAILPOINTS=provision.copied,drop.dropped` makes the process kill itself with
SIGKILL on reaching one of those points. Unset (always, outside crash tests), a point costs
one set lookup.
"""

import os
import signal

_ARMED = frozenset(filter(None, os.environ.get("TENANTRY_FAILPOINTS", "").split(",")))


def reach(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
