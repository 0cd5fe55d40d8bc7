"""Trained models in memory: per process, bounded in bytes, least recently used first out.

A request reads its database's current model version (one indexed read); the cache answers
with the model of that version, or loads it once (concurrent requests for it wait for the
same load) from its artefacts, in a thread. A new version replaces the old one in one
assignment: a request holds the model it got until it is done, whatever is swapped since.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from tenantry.data.recommendations.engine import Model

Loader = Callable[[], Awaitable[Model]]


class ModelCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._loading: dict[tuple[str, int], asyncio.Future[Model]] = {}
        self.used_bytes = 0

    async def get(self, schema: str, version: int, load: Loader) -> Model:
        """The model of `schema` at `version`, loaded by `load` when not held."""
        model = self._models.get(schema)
        if model is not None and model.version == version:
            self._models.move_to_end(schema)
            return model
        key = (schema, version)
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Model] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            model = await load()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no warning when no one else waited
            raise
        finally:
            del self._loading[key]
        future.set_result(model)
        self._keep(schema, model)
        return model

    def _keep(self, schema: str, model: Model) -> None:
        held = self._models.get(schema)
        if held is not None and held.version > model.version:
            return  # a newer one arrived meanwhile
        self.drop(schema)
        self._models[schema] = model
        self.used_bytes += model.nbytes
        while self.used_bytes > self.max_bytes and len(self._models) > 1:
            _, evicted = self._models.popitem(last=False)
            self.used_bytes -= evicted.nbytes

    def drop(self, schema: str) -> None:
        held = self._models.pop(schema, None)
        if held is not None:
            self.used_bytes -= held.nbytes

    def __len__(self) -> int:
        return len(self._models)
