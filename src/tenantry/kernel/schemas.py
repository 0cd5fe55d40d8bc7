"""The base of every schema a client sends."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body: a member it does not declare is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
