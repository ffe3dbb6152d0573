"""Folded text for search: a name however it is typed finds its record.

`fold("Kraków")`, `fold("Krakow")` and `fold("KRAKOW")` are all "krakow"; `fold("Кластер")` is
"klaster", as is `fold("Klaster")`; `fold("Θεσσαλονίκη")` is "thessaloniki"; `fold("Þórshöfn")` is
"thorshofn". Any script is transliterated to Latin (anyascii), then case-folded, runs of white space
made one space. The same function folds what is stored (the organisations' `search_fold`, kept on every
write and filled by migration 0015) and what is searched for, so a plain LIKE on the stored column finds
it on SQLite and PostgreSQL alike, with no per-row function at query time.
"""
from __future__ import annotations

from anyascii import anyascii

SEPARATOR = " | "


def fold(text: str | None) -> str:
    """`text` transliterated to ASCII, case-folded, its white space collapsed ("" for None)."""
    if not text:
        return ""
    return " ".join(anyascii(text).casefold().split())


def organisation_fold(legal_name: str | None, legal_id: str | None, city: str | None) -> str:
    """What an organisation is found by: its legal name, legal id and city, folded, kept apart by
    `SEPARATOR` (which a folded query of letters and digits cannot span)."""
    return SEPARATOR.join(fold(part) for part in (legal_name, legal_id, city))


def contains_pattern(query: str) -> str | None:
    """A LIKE pattern (escape character `\\`) for folded text holding the folded `query`; None when
    the query folds to nothing."""
    folded = fold(query)
    if not folded:
        return None
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
