"""The words of a code's description, as the ICD-10-CM word index stores them (pure).

Lower case, split on anything that is not a letter or digit; words of one letter (other than
digits) and the commonest joining words are left out, as is any word past 40 characters."""

from __future__ import annotations

import re

SKIPPED = frozenset({"of", "and", "the", "or", "in", "to", "for", "by", "an", "on", "at", "as"})
WORD_END = "{"  # sorts after every lowercase letter and digit: [word, word + "{") is a prefix
_SPLIT = re.compile(r"[^0-9a-z]+")


def _words(text: str) -> list[str]:
    return [
        w[:40]
        for w in _SPLIT.split(text.lower())
        if w and w not in SKIPPED and (len(w) > 1 or w.isdigit())
    ]


def description_words(description: str) -> set[str]:
    return set(_words(description))


def query_words(query: str) -> list[str]:
    """The query's words, longest first (the most selective narrows the search first)."""
    return sorted(set(_words(query)), key=len, reverse=True)
