"""Audit sampling (SPEC §7): a random sample reproducible from a seed, plus risk-based picks."""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

FLAGS = ("override", "amount_at_cap", "late_evidence", "same_iban_other_organisation", "bank_rejection",
         "extension", "conflict_of_interest")


def sample(flags: Mapping[str, Sequence[str]], size: int, seed: int) -> list[dict[str, Any]]:
    """`size` exchanges drawn at random (the same seed and population give the same draw) and every
    exchange with a risk flag, each once, sorted by reference, with the reasons that picked it."""
    population = sorted(flags)
    drawn = set(random.Random(seed).sample(population, min(size, len(population))))
    picks = []
    for ref in population:
        reasons = (["random"] if ref in drawn else []) + [f for f in FLAGS if f in flags[ref]]
        if reasons:
            picks.append({"exchange": ref, "reasons": reasons})
    return picks
