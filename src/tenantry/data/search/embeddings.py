"""Embeddings of documents and queries, by the backend the settings choose: the wordllama
model whose weights and tokenizer ship inside its wheel (nothing is downloaded), or an
OpenAI-compatible embeddings endpoint. Each vector is recorded with its model's name, so
vectors of two models are never compared. Computing never blocks the event loop."""

import asyncio
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Protocol

import httpx
from wordllama.inference import WordLlamaInference

from tenantry.config import Settings
from tenantry.errors import TenantryError

WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIMENSIONS = 256
REMOTE_TIMEOUT = 30.0
# What a document's embedding reads: its title and the start of its text. An average of
# word vectors over a long text says less of its subject, and costs in proportion.
EMBEDDED_CHARACTERS = 2000


class EmbeddingsUnavailable(TenantryError):
    status = 503
    code = "EMBEDDINGS_UNAVAILABLE"
    error_code = 0
    error_name = "ServerError"
    default_detail = "The embeddings endpoint did not answer; nothing was changed."


class Embedder(Protocol):
    model: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text."""
        ...


class PackagedEmbedder:
    model = f"wordllama/{WORDLLAMA_CONFIG}-{WORDLLAMA_DIMENSIONS}"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._embed, list(texts))

    @staticmethod
    def _embed(texts: list[str]) -> list[list[float]]:
        vectors = _wordllama().embed(texts, norm=True)
        return [[float(value) for value in vector] for vector in vectors]


@cache
def _wordllama() -> WordLlamaInference:
    """The packaged model, read from the wheel's own files: `WordLlama.load` would look
    for the tokenizer in a folder the wheel does not have, then download it."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    root = files("wordllama")
    tokenizer = Tokenizer.from_file(
        str(root / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json")
    )
    weights = root / "weights" / f"{WORDLLAMA_CONFIG}_{WORDLLAMA_DIMENSIONS}.safetensors"
    with safe_open(str(weights), framework="np") as tensors:
        embedding = tensors.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, tokenizer)


class RemoteEmbedder:
    """An OpenAI-compatible `POST {url}` with `{"model", "input"}`, answering `data[].embedding`."""

    def __init__(self, url: str, model: str, api_key: str | None) -> None:
        self.url = url
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        try:
            async with httpx.AsyncClient(timeout=REMOTE_TIMEOUT) as client:
                response = await client.post(
                    self.url, json={"model": self.model, "input": list(texts)}, headers=self.headers
                )
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda each: each["index"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise EmbeddingsUnavailable from error
        return [_unit([float(value) for value in each["embedding"]]) for each in data]


def _unit(vector: list[float]) -> list[float]:
    norm = sum(value * value for value in vector) ** 0.5
    return [value / norm for value in vector] if norm else vector


@cache
def embedder() -> Embedder:
    # Read here, not through `get_settings`: `tenantry migrate` embeds before `serve` has
    # set the database's address, and that cached reading would be the app's.
    settings = Settings()
    if settings.embedding_backend == "openai":
        assert settings.embedding_url is not None
        assert settings.embedding_model is not None
        key = settings.embedding_api_key
        return RemoteEmbedder(
            settings.embedding_url,
            settings.embedding_model,
            key.get_secret_value() if key else None,
        )
    return PackagedEmbedder()


def document_text(title: str, text: str | None) -> str:
    return f"{title}\n{text or ''}"[:EMBEDDED_CHARACTERS]
