"""What search reads of a document: its content as text, its words, the types of its
metadata fields; and the words one typo away from a query's word."""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from inscriptis import get_text
from markdown_it import MarkdownIt

WORD = re.compile(r"\w+")
OPERATORS = re.compile(r'"|(^|\s)-\w|\bor\b', re.IGNORECASE)  # websearch_to_tsquery's
MAX_ANY = 32
MAX_WORD = 100  # longer runs of letters are not words anyone types
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
MIN_FUZZY = 4  # shorter words are corrected into too many others
_markdown = MarkdownIt("commonmark")


def plain_text(content: str, content_type: str) -> str:
    """`content` as text: HTML laid out as a browser would show it (inscriptis), Markdown
    rendered to HTML first (markdown-it-py); plain text as it is."""
    if content_type == "html":
        return get_text(content) if content.strip() else ""
    if content_type == "markdown":
        return get_text(_markdown.render(content)) if content.strip() else ""
    return content


def words(*texts: str) -> set[str]:
    """The distinct lower-cased words of `texts`, as fuzzy search knows them."""
    return {word for text in texts for word in WORD.findall(text.lower()) if len(word) <= MAX_WORD}


def query_words(query: str) -> list[str]:
    """The words of a query, in order, once each."""
    return list(dict.fromkeys(WORD.findall(query.lower())))


def any_of(query: str) -> str | None:
    """A query of two or more plain words (no `"phrase"`, `-exclusion` nor `or`) as a
    `to_tsquery` text that any one of them matches; None for other queries, which
    `websearch_to_tsquery` reads as they are."""
    if OPERATORS.search(query):
        return None
    words = query_words(query)[:MAX_ANY]
    return " | ".join(f"'{word}'" for word in words) if len(words) > 1 else None


def one_typo_away(word: str) -> set[str]:
    """Words one deletion, insertion, substitution or transposition from `word` (ASCII
    letters and digits inserted or substituted)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deleted = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaced = {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    inserted = {a + c + b for a, b in splits for c in LETTERS}
    return (deleted | swapped | replaced | inserted) - {word}


def fuzzable(word: str) -> bool:
    return len(word) >= MIN_FUZZY and not word.isdigit()


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str) and _is_date(value):
        return "date"
    return "keyword"


def _is_date(value: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def metadata_fields(
    metadata: dict[str, Any], prefix: str = "metadata"
) -> Iterator[tuple[str, str]]:
    """(field in dot notation, type) of each value of `metadata`, nested objects walked;
    an array has the type of its first value, a key ending in `_geo_point` is a geo_point."""
    for key, value in metadata.items():
        field = f"{prefix}.{key}"
        if key.endswith("_geo_point"):
            yield field, "geo_point"
            continue
        if isinstance(value, list):
            value = next((item for item in value if item is not None), None)
        if value is None:
            continue
        if isinstance(value, dict):
            yield from metadata_fields(value, field)
            continue
        yield field, _type_of(value)
