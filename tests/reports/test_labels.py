"""Codes in words (reports/labels.py): the one table pages, filters and the audit file read."""
from __future__ import annotations

from decimal import Decimal

import pytest
from jinja2 import Environment

from reports.labels import label, labels, subdivision_name
from workflows.web.filters import install_filters


@pytest.mark.parametrize(("code", "kind", "words"), [
    ("committed", None, "Visit planned"), ("joint_learning_event", None, "Joint Learning Event"),
    ("exchange_visit", "format", "Exchange visit"), ("agri_food", "sector", "Agri-food"),
    ("sme", "org_type", "SME"), ("approve", "decision", "Approve"), ("finance", "role", "Finance officer"),
    ("end_published", None, "End published"),        # a code no table knows reads as its words
    ("FULL_RATE", None, "Full rate"), ("AC04", None, "AC04"),
    ("Already words", None, "Already words"), ("", None, ""), (None, None, ""),
])
def test_a_code_reads_as_words(code: str | None, kind: str | None, words: str) -> None:
    assert label(code, kind) == words


def test_a_list_of_codes_reads_as_words_joined_with_commas() -> None:
    assert labels(["digital", "health"], "sector") == "Digital, Health"
    assert labels([]) == ""


@pytest.mark.parametrize(("country", "code", "name"), [
    ("AT", "9", "Wien"), ("PL", "12", "Małopolskie"), ("is", "1", "Höfuðborgarsvæði"),
    ("DE", "DE-BY", "Bayern"), ("AT", "99", "99"), ("AT", None, ""),
])
def test_a_subdivision_reads_as_its_iso_3166_2_name(country: str, code: str | None, name: str) -> None:
    assert subdivision_name(country, code) == name


def test_the_page_filters_say_codes_in_words() -> None:
    env = install_filters(Environment(autoescape=True))
    page = env.from_string('{{ s | label }}; {{ f | labels("format") }}; {{ c | subdivision(d) }}')
    assert page.render(s="awaiting_match", f=["conference_fair"], c="AT", d="9") == \
        "Waiting for a match; Conference or fair; Wien"


def test_a_share_reads_as_a_percentage() -> None:
    from reports.labels import is_share, percent

    assert [percent(v) for v in ("0.8333", Decimal("1"), 0, "0.0000", None, "", "n/a")] == \
        ["83.3 %", "100.0 %", "0.0 %", "0.0 %", "", "", "n/a"]
    assert percent("0.12345", 2) == "12.35 %"
    assert is_share("within_target_share") and is_share("share") and not is_share("shares_count")
