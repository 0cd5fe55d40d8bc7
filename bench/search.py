"""Document search, quality then speed, through a real `tenantry serve` on the embedded
PostgreSQL's binaries (pgvector included):

    python -m bench search [--queries 300] [--concurrency 8] [--max-documents 0]

Corpus: Debian's `manpages` and `manpages-dev` (sections 2, 3, 4, 5 and 7, as `dpkg -L`
lists them; `.so` aliases left out). Each page is one document whose title is the page's
name (`open.2`) and whose content is its roff source read as text (macros and font escapes
dropped) without its NAME section. Queries: the NAME lines (`open, openat, creat - open and
possibly create a file`) of a seeded sample of pages whose NAME line is unique; the one
relevant document of each is its page.

Quality: MRR@10 and nDCG@10 of `lexical`, `ai_semantic` and `hybrid` (the packaged
wordllama model, `ai_search_cutoff_score` 0, hybrid ratio 0.5) beside BM25 (bm25s, Lucene
variant, k1 1.5, b 0.75) over the same titles and texts. Speed: the ingest rate through
the API (add document, embedding included, `--concurrency` requests at once), and each
search type's p50/p99 through the API, one request at a time, unfiltered and filtered by
one `tenant_id` (the pages spread over 1,000 tenant ids).

Writes bench/results/search.json and prints two tables.
"""

import argparse
import asyncio
import gzip
import math
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import bm25s
import httpx

from bench._harness import (
    create_database,
    drop_database,
    postgres_server,
    print_table,
    summary_ms,
    write_results,
)
from bench.hotpath import start_tenantry
from bench.list_tenant_ids import register

PACKAGES = ("manpages", "manpages-dev")
SECTIONS = ("man2/", "man3/", "man4/", "man5/", "man7/")
SEARCH_TYPES = ("lexical", "ai_semantic", "hybrid")
TENANT_IDS = 1000
MAX_CONTENT = 100_000  # the documents API's content limit, in characters here
K = 10
SEED = 20
FONT = re.compile(r"\\f(\[[^]]*\]|\(..|.)")
ESCAPE = re.compile(r"\\(\(..|\[[^]]*\]|[-e&|^0 ])")
HEADING = re.compile(r"^\.S[HS]\s+(.*)$")


def pages() -> list[Path]:
    listed = subprocess.run(
        ["dpkg", "-L", *PACKAGES], capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(
        Path(name)
        for name in listed
        if name.endswith(".gz") and any(f"/man/{section}" in name for section in SECTIONS)
    )


def as_text(roff: str) -> str:
    """A roff line as text: font changes dropped, `\\-` and special characters read."""
    return ESCAPE.sub(lambda m: "-" if m.group(1) == "-" else " ", FONT.sub("", roff)).strip()


def read_page(path: Path) -> tuple[str, str, str] | None:
    """(title, NAME line, text without the NAME section), or None for an alias."""
    source = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    if source.lstrip().startswith(".so "):
        return None
    name_lines: list[str] = []
    body: list[str] = []
    section = ""
    for line in source.splitlines():
        heading = HEADING.match(line)
        if heading:
            section = heading.group(1).strip('"').upper()
            if section != "NAME":
                body.append(as_text(heading.group(1)))
            continue
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith((".", "'")):
            _, _, line = line.partition(" ")
        text = as_text(line)
        if text:
            (name_lines if section == "NAME" else body).append(text)
    name = " ".join(name_lines).strip()
    if not name:
        return None
    title = path.name.removesuffix(".gz")
    return title, name, "\n".join(body)[:MAX_CONTENT]


def corpus(limit: int) -> list[tuple[str, str, str]]:
    read = [page for page in map(read_page, pages()) if page is not None]
    return read[:limit] if limit else read


def judged(documents: list[tuple[str, str, str]], count: int) -> list[tuple[str, str]]:
    """(query, relevant document id): a seeded sample of the unique NAME lines."""
    names = Counter(name for _, name, _ in documents)
    unique = [(name[:1000], doc_id(title)) for title, name, _ in documents if names[name] == 1]
    random.Random(SEED).shuffle(unique)  # noqa: S311  (a reproducible sample)
    return unique[:count]


def doc_id(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", title)[:128]


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """MRR@10 and nDCG@10 with one relevant document per query (rank 1-based, or None)."""
    found = [rank for rank in ranks if rank is not None and rank <= K]
    return {
        "mrr@10": round(sum(1 / rank for rank in found) / len(ranks), 4),
        "ndcg@10": round(sum(1 / math.log2(rank + 1) for rank in found) / len(ranks), 4),
        "found@10": round(len(found) / len(ranks), 4),
    }


def bm25_ranks(documents: list[tuple[str, str, str]], queries: list[tuple[str, str]]) -> list:
    ids = [doc_id(title) for title, _, _ in documents]
    texts = [f"{title}\n{text}" for title, _, text in documents]
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize([query for query, _ in queries], stopwords="en", show_progress=False)
    found, _ = retriever.retrieve(tokens, k=K, show_progress=False)
    ranks: list[int | None] = []
    for row, (_, relevant) in zip(found, queries, strict=True):
        listed = [ids[index] for index in row]
        ranks.append(listed.index(relevant) + 1 if relevant in listed else None)
    return ranks


async def ingest(
    base: str, key: dict[str, str], documents: list[tuple[str, str, str]], concurrency: int
) -> float:
    """Add every document through the API; the documents per second."""
    queue: asyncio.Queue[tuple[int, tuple[str, str, str]]] = asyncio.Queue()
    for each in enumerate(documents):
        queue.put_nowait(each)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index, (title, _, text) = queue.get_nowait()
            body = {
                "id": doc_id(title),
                "title": title,
                "content": text,
                "tenant_id": f"tenant{index % TENANT_IDS:04d}",
            }
            response = await client.post("/v20241104/documents", headers=key, json=body)
            response.raise_for_status()

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return len(documents) / (time.perf_counter() - began)


async def searches(
    base: str,
    key: dict[str, str],
    queries: list[tuple[str, str]],
    search_type: str,
    tenant_of: dict[str, str] | None = None,
) -> tuple[list[int | None], list[float]]:
    """Each query's rank of its relevant document and its time through the API."""
    ranks: list[int | None] = []
    seconds: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for query, relevant in queries:
            body: dict[str, Any] = {
                "query": query,
                "search_type": search_type,
                "limit": K,
                "excerpts": False,
                "ai_search_cutoff_score": 0,
            }
            if tenant_of is not None:
                body["tenant_id"] = [tenant_of[relevant]]
            began = time.perf_counter()
            response = await client.post("/v20241104/search", headers=key, json=body)
            seconds.append(time.perf_counter() - began)
            response.raise_for_status()
            listed = [hit["id"] for hit in response.json()["data"]]
            ranks.append(listed.index(relevant) + 1 if relevant in listed else None)
    return ranks, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-documents", type=int, default=0, help="0: every page")
    args = parser.parse_args()
    documents = corpus(args.max_documents)
    queries = judged(documents, args.queries)
    tenant_of = {
        doc_id(title): f"tenant{i % TENANT_IDS:04d}" for i, (title, _, _) in enumerate(documents)
    }
    print(f"{len(documents)} pages, {len(queries)} queries", file=sys.stderr)
    quality: dict[str, dict[str, float]] = {"bm25 (bm25s)": metrics(bm25_ranks(documents, queries))}
    speed: dict[str, Any] = {}
    with postgres_server("bench_search") as (server, _):
        url = asyncio.run(create_database(server, "bench_search"))
        tenantry = start_tenantry(url)
        try:
            key, _ = asyncio.run(register(tenantry.url))
            rate = asyncio.run(ingest(tenantry.url, key, documents, args.concurrency))
            print(f"ingested at {rate:.0f} documents/s", file=sys.stderr)
            speed["ingest_documents_per_second"] = round(rate, 1)
            for search_type in SEARCH_TYPES:
                ranks, seconds = asyncio.run(searches(tenantry.url, key, queries, search_type))
                quality[search_type] = metrics(ranks)
                _, filtered = asyncio.run(
                    searches(tenantry.url, key, queries, search_type, tenant_of)
                )
                speed[search_type] = {
                    "unfiltered": summary_ms(seconds),
                    "one_tenant_id": summary_ms(filtered),
                }
        finally:
            tenantry.stop()
            asyncio.run(drop_database(server, url))
        path = write_results(
            "search",
            {
                "corpus": {
                    "packages": {name: package_version(name) for name in PACKAGES},
                    "sections": [section.rstrip("/") for section in SECTIONS],
                    "documents": len(documents),
                    "tenant_ids": TENANT_IDS,
                    "queries": len(queries),
                    "seed": SEED,
                },
                "settings": {
                    "embedding": "wordllama/l2_supercat-256",
                    "ai_search_cutoff_score": 0,
                    "hybrid_search_ai_ratio": 0.5,
                    "fuzzy_search": True,
                    "concurrency": args.concurrency,
                },
                "quality": quality,
                "speed": speed,
                "versions": {"bm25s": package_version_py("bm25s")},
            },
            server,
        )
    print_table(
        f"Search quality: {len(queries)} NAME-line queries over {len(documents)} man pages",
        ["method", "MRR@10", "nDCG@10", "found@10"],
        [[name, row["mrr@10"], row["ndcg@10"], row["found@10"]] for name, row in quality.items()],
    )
    print_table(
        f"Search speed through the API ({len(documents)} documents, one database)",
        ["search_type", "p50 ms", "p99 ms", "p50 ms, one tenant_id", "p99 ms, one tenant_id"],
        [
            [
                name,
                speed[name]["unfiltered"]["p50_ms"],
                speed[name]["unfiltered"]["p99_ms"],
                speed[name]["one_tenant_id"]["p50_ms"],
                speed[name]["one_tenant_id"]["p99_ms"],
            ]
            for name in SEARCH_TYPES
        ],
    )
    print(f"ingest: {speed['ingest_documents_per_second']} documents/s; {path}")


def package_version(package: str) -> str:
    return subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def package_version_py(package: str) -> str:
    from importlib import metadata

    return metadata.version(package)


if __name__ == "__main__":
    main()
