"""Languages of documents and the PostgreSQL text search configuration of each.

A document's words are stemmed by the configuration of its `language`, and a query by that
of the search's `language`; a language without its own configuration is indexed word for
word (`simple`). Every configuration named here ships with PostgreSQL 14 and later.
"""

CONFIGURATIONS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
FALLBACK = "simple"


def configuration(language: str) -> str:
    return CONFIGURATIONS.get(language.lower(), FALLBACK)


def _config_of_column() -> str:
    cases = " ".join(
        f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGURATIONS.items()
    )
    return f"CASE lower(language) {cases} ELSE '{FALLBACK}'::regconfig END"


# The weighted lexemes of a document: its title weighs A, its text B. A generated column,
# so that every write (in SQL too) leaves it right in the writing transaction.
SEARCH_VECTOR = (
    f"setweight(to_tsvector({_config_of_column()}, title), 'A') || "
    f"setweight(to_tsvector({_config_of_column()}, coalesce(plain_text, content)), 'B')"
)
