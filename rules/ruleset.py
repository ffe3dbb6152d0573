"""Versioned rule sets: the numbers and lists the rules apply, as data.

A call names the rule-set version it applies, and every exchange of that call is judged by that
version for its whole life, even after `DEFAULT_VERSION` moves on. A call may also derive its own
rule set from a shipped one with a few validated overrides (`derive_rule_set`); the result is stored
with the call as `rule_set_to_dict(...)` and read back, exactly, with `rule_set_from_dict(...)`.

Shipped versions:

- ``2026.1`` (default): the thresholds of SPEC §3 — EUR 1,100 for hosts in AT BE DK FI FR IE IS LI
  LU NL NO SE, EUR 950 for CY DE GR ES IT MT PT SI, EUR 780 elsewhere; cap EUR 1,100.
Every shipped version also sets the deadlines of human tasks: an officer's (or finance's) task is due
10 days after it opens, an applicant's 14, and both are followed up 3 days before (*default*).

- ``2025.1``: our earlier default table (EUR 1,000 / 900 / 750, same cap and programme rules), kept
  so that exchanges of calls published under it keep their amounts.

Greece is ``EL`` in EU usage and ``GR`` in ISO 3166-1: both are accepted, ``GR`` is stored.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from rules.errors import RuleInputError
from rules.values import normalise_country, to_count, to_decimal, to_money

EU27 = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
ASSOCIATED = frozenset("IS NO LI AL BA ME MK RS XK MD UA AM TR".split())
DEFAULT_ELIGIBLE_COUNTRIES = EU27 | ASSOCIATED

HIGH_COST = frozenset("AT BE DK FI FR IE IS LI LU NL NO SE".split())
MEDIUM_COST = frozenset("CY DE GR ES IT MT PT SI".split())

GRANT_MODELS = frozenset({"lump_sum", "actual_costs"})
DEFAULT_REQUIRED_ACTIVITIES = frozenset({"joint_learning_event", "matchmaking", "study_visit"})


class FrozenMap(Mapping[str, Decimal]):
    """A read-only, hashable mapping (so that a `RuleSet` can be hashed and cached)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Decimal] | Iterable[tuple[str, Decimal]] = ()) -> None:
        self._data = dict(sorted(dict(data).items()))

    def __getitem__(self, key: str) -> Decimal:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def _table(high: str, medium: str) -> FrozenMap:
    return FrozenMap({c: Decimal(high) for c in HIGH_COST} | {c: Decimal(medium) for c in MEDIUM_COST})


@dataclass(frozen=True)
class RuleSet:
    """One version of the programme's rules. Validated and normalised on construction."""

    version: str
    eligible_countries: frozenset[str] = DEFAULT_ELIGIBLE_COUNTRIES
    thresholds: Mapping[str, Decimal] = _table("1100.00", "950.00")
    default_threshold: Decimal = Decimal("780.00")
    cap: Decimal = Decimal("1100.00")
    min_working_days: int = 3
    full_rate_min_working_days: int = 5
    full_rate_min_distance_km: Decimal = Decimal("200")
    max_stay_months: int = 1
    grant_model: str = "lump_sum"
    required_activities: frozenset[str] = DEFAULT_REQUIRED_ACTIVITIES
    evidence_due_days: int = 15
    evidence_reminder_days: int = 5
    info_request_days: int = 14
    officer_task_due_days: int = 10
    applicant_task_due_days: int = 14
    task_follow_up_days: int = 3
    match_weight_sector: Decimal = Decimal("40")
    match_weight_country_wish: Decimal = Decimal("30")
    match_weight_date_overlap: Decimal = Decimal("20")
    match_bonus_region_category: Decimal = Decimal("10")

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:  # the dataclass is frozen: normalise in place
            object.__setattr__(self, name, value)

        if not isinstance(self.version, str) or not self.version.strip():
            raise RuleInputError("version", "a rule set needs a non-empty version")
        countries = _strings("eligible_countries", self.eligible_countries)
        put("eligible_countries", frozenset(normalise_country("eligible_countries", c) for c in countries))
        if not self.eligible_countries:
            raise RuleInputError("eligible_countries", "at least one country must be eligible")
        if not isinstance(self.thresholds, Mapping):
            raise RuleInputError("thresholds", "must map country codes to amounts")
        put("thresholds", FrozenMap({
            normalise_country("thresholds", c): to_money(f"thresholds.{c}", v)
            for c, v in self.thresholds.items()
        }))
        for name in ("default_threshold", "cap"):
            put(name, to_money(name, getattr(self, name)))
        for name in ("min_working_days", "evidence_reminder_days"):
            to_count(name, getattr(self, name))
        for name in ("max_stay_months", "evidence_due_days", "info_request_days", "officer_task_due_days",
                     "applicant_task_due_days"):
            to_count(name, getattr(self, name), minimum=1)
        to_count("task_follow_up_days", self.task_follow_up_days)
        if self.task_follow_up_days >= min(self.officer_task_due_days, self.applicant_task_due_days):
            raise RuleInputError("task_follow_up_days", "the follow-up must come before the tasks are due")
        to_count("full_rate_min_working_days", self.full_rate_min_working_days, minimum=self.min_working_days)
        if self.evidence_reminder_days >= self.evidence_due_days:
            raise RuleInputError("evidence_reminder_days", "the reminder must come before the due date")
        for name in ("full_rate_min_distance_km", "match_weight_sector", "match_weight_country_wish",
                     "match_weight_date_overlap", "match_bonus_region_category"):
            number = to_decimal(name, getattr(self, name), allow_float=True)
            if number < 0:
                raise RuleInputError(name, f"must not be negative (got {number})")
            put(name, number)
        if self.grant_model not in GRANT_MODELS:
            raise RuleInputError("grant_model", f"must be one of {', '.join(sorted(GRANT_MODELS))}")
        put("required_activities", frozenset(_strings("required_activities", self.required_activities)))


def _strings(name: str, values: object) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise RuleInputError(name, "must be a list of codes")
    items = list(values)
    if not all(isinstance(v, str) and v for v in items):
        raise RuleInputError(name, "must contain non-empty text codes only")
    return items


DEFAULT_VERSION = "2026.1"

SHIPPED: Mapping[str, RuleSet] = MappingProxyType({
    "2025.1": RuleSet(
        version="2025.1", thresholds=_table("1000.00", "900.00"), default_threshold=Decimal("750.00")
    ),
    "2026.1": RuleSet(version="2026.1"),
})

_FIELDS = tuple(f.name for f in dataclasses.fields(RuleSet))


def get_rule_set(version: str) -> RuleSet:
    """The shipped rule set of this version; `RuleInputError("rule_set", ...)` when unknown."""
    try:
        return SHIPPED[version]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SHIPPED))
        raise RuleInputError("rule_set", f"unknown rule set version {version!r} (known: {known})") from None


def derive_rule_set(base: RuleSet, version: str, overrides: Mapping[str, Any]) -> RuleSet:
    """A call's own rule set: `base` with validated `overrides` under a new `version`.

    Unknown keys are refused. ``thresholds`` is merged into the base table (country by country);
    every other key replaces the base value.
    """
    changes = dict(overrides)
    for key in changes:
        if key == "version" or key not in _FIELDS:
            known = ", ".join(n for n in _FIELDS if n != "version")
            raise RuleInputError(f"overrides.{key}", f"is not a rule-set setting (settings: {known})")
    if "thresholds" in changes:
        table = changes["thresholds"]
        if not isinstance(table, Mapping):
            raise RuleInputError("thresholds", "must map country codes to amounts")
        merged = dict(base.thresholds)
        merged.update({normalise_country("thresholds", c): v for c, v in table.items()})
        changes["thresholds"] = merged
    return dataclasses.replace(base, version=version, **changes)


def rule_set_to_dict(rs: RuleSet) -> dict[str, Any]:
    """A JSON-able document of the rule set (Decimals as exact strings, sets as sorted lists)."""
    document: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(rs, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, Mapping):
            value = {k: str(v) for k, v in sorted(value.items())}
        document[name] = value
    return document


def rule_set_from_dict(document: Mapping[str, Any]) -> RuleSet:
    """Read back `rule_set_to_dict(...)`; unknown keys are refused, missing ones take the defaults."""
    if not isinstance(document, Mapping) or "version" not in document:
        raise RuleInputError("version", "a rule-set document needs a version")
    for key in document:
        if key not in _FIELDS:
            raise RuleInputError(key, "is not a rule-set setting")
    return RuleSet(**dict(document))


PROGRAMME_CAP = Decimal("1100.00")  # (programme) at most EUR 1,100 per visiting organisation


def rule_set_digest(rs: RuleSet) -> str:
    """The SHA-256 of a rule set's values, its version's name left out: two versions with the same
    values have the same digest, so a new version is stored once by its content."""
    import hashlib
    import json

    body = {k: v for k, v in rule_set_to_dict(rs).items() if k != "version"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def programme_problems(rs: RuleSet) -> list[tuple[str, str]]:
    """What a new rule-set version may not do under the programme's rules, as (field, message): a
    cap above EUR 1,100; a threshold (or the default) that is not positive or above the cap; a
    threshold for a country that is not eligible; an eligible country with no price (no threshold
    of its own and no default threshold). Empty when the version may be stored."""
    problems: list[tuple[str, str]] = []
    if rs.cap > PROGRAMME_CAP:
        problems.append(("cap", f"EUR {rs.cap} is above the programme's cap of EUR {PROGRAMME_CAP} per "
                                "visiting organisation"))
    if rs.cap <= 0:
        problems.append(("cap", "must be a positive amount"))
    for country, amount in rs.thresholds.items():
        field = f"thresholds.{country}"
        if amount <= 0:
            problems.append((field, f"EUR {amount} is not a positive amount"))
        elif amount > rs.cap:
            problems.append((field, f"EUR {amount} is above the rule set's cap of EUR {rs.cap}"))
        if country not in rs.eligible_countries:
            problems.append((field, f"{country} is priced but is not an eligible country of this rule set"))
    if rs.default_threshold > rs.cap:
        problems.append(("default_threshold", f"EUR {rs.default_threshold} is above the rule set's cap of "
                                              f"EUR {rs.cap}"))
    if rs.default_threshold <= 0:
        unpriced = sorted(c for c in rs.eligible_countries if c not in rs.thresholds)
        if unpriced:
            problems.append(("eligible_countries", f"{', '.join(unpriced)} {'is' if len(unpriced) == 1 else 'are'} "
                                                   "eligible but not priced: give a threshold for each, or a "
                                                   "positive default_threshold"))
    return problems


def threshold(rs: RuleSet, host_country: str) -> Decimal:
    """The lump-sum threshold for a host in `host_country` (an eligible country of the rule set)."""
    code = normalise_country("host_country", host_country)
    if code not in rs.eligible_countries:
        raise RuleInputError("host_country", f"{code} is not an eligible country in rule set {rs.version}")
    return rs.thresholds.get(code, rs.default_threshold)
