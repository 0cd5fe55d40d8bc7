"""Run calls of xminds 0.6's client in this process (xminds 0.6 first on PYTHONPATH).

Reads `{"host": url, "calls": [[method, args, kwargs], ...]}` on stdin, with bytes as
`{"__bytes__": hex}`; makes the calls in order on one `CrossingMindsApiClient(host=url,
serializer='json')`, and writes on the last line of stdout a JSON list with, for each,
`{"value": ...}` or `{"error": exception class name, "data": its data}`.
Started by `tests.utils.xminds.run_xminds_06`; not a test module.
"""

import json
import sys
from typing import Any

import xminds
from xminds.api.client import CrossingMindsApiClient


def decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return bytes.fromhex(value["__bytes__"])
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


def encoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, dict):
        return {str(k): encoded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encoded(v) for v in value]
    if hasattr(value, "tolist"):  # numpy
        return encoded(value.tolist())
    return value


def main() -> None:
    assert xminds.__version__.startswith("0.6."), xminds.__version__
    request = json.load(sys.stdin)
    client = CrossingMindsApiClient(host=request["host"], serializer="json")
    outcomes = []
    for method, args, kwargs in decoded(request["calls"]):
        try:
            value = getattr(client, method)(*args, **kwargs)
        except Exception as exc:  # every failure is an outcome to report
            data = getattr(exc, "data", None)
            outcomes.append({"error": type(exc).__name__, "data": encoded(data) or str(exc)})
        else:
            outcomes.append({"value": encoded(value)})
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
