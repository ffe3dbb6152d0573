"""R-GRANT: how much a visiting organisation receives, and why.

Lump-sum model (the programme's own): the host country's threshold; zero below
``min_working_days`` (3) [``BELOW_MIN_WORKING_DAYS``]; halved once when the counted working days are
fewer than ``full_rate_min_working_days`` (5) [``HALVED_FEW_DAYS``] and/or the great-circle distance
is under ``full_rate_min_distance_km`` (200 km) [``HALVED_SHORT_DISTANCE``] — both reasons are listed
when both apply, the amount is halved once; otherwise [``FULL_RATE``]; then capped at ``cap``
[``CAPPED``, only when the cap changed the amount].

Actual-costs model: eligible travel, accommodation and subsistence costs, zero below the minimum
working days, capped at ``cap`` [``ACTUAL_COSTS``, ``CAPPED``].

An officer may override an amount with a written reason and a second approver [``OVERRIDDEN``].
Amounts are Decimal euros quantised to the cent; halves are rounded half up to the cent.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rules.errors import RuleInputError
from rules.explain import jsonable
from rules.ruleset import RuleSet, get_rule_set, threshold
from rules.values import normalise_country, round_money, to_count, to_decimal, to_money

EARTH_RADIUS_KM = 6371.0088
COST_CATEGORIES = frozenset({"travel", "accommodation", "subsistence"})
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GrantResult:
    """An amount with the reason codes, sentences and inputs that explain it."""

    amount: Decimal
    model: str
    reasons: tuple[str, ...]
    inputs: dict[str, Any]
    rule_set_version: str
    messages: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": f"{self.amount:.2f}",
            "model": self.model,
            "reasons": list(self.reasons),
            "messages": list(self.messages),
            "inputs": jsonable(self.inputs),
            "rule_set_version": self.rule_set_version,
        }


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> Decimal:
    """Haversine distance in km on a sphere of radius 6371.0088 km, to 0.1 km (half up)."""
    points = {"lat1": lat1, "lon1": lon1, "lat2": lat2, "lon2": lon2}
    for name, value in points.items():
        number = to_decimal(name, value, allow_float=True)
        limit = 90 if name.startswith("lat") else 180
        if abs(number) > limit:
            raise RuleInputError(name, f"must be between -{limit} and {limit} (got {number})")
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
    return Decimal(repr(km)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _distance(value: Decimal | float | int) -> Decimal:
    km = to_decimal("distance_km", value, allow_float=True)
    if km < 0:
        raise RuleInputError("distance_km", f"must not be negative (got {km})")
    return km


def _require_model(rule_set: RuleSet, model: str) -> None:
    if rule_set.grant_model != model:
        raise RuleInputError("rule_set", f"rule set {rule_set.version} uses the {rule_set.grant_model} "
                             f"model, not {model}")


def compute_grant(
    rule_set: RuleSet, host_country: str, working_days: int, distance_km: Decimal | float | int
) -> GrantResult:
    """The lump-sum grant for a visit to a host in `host_country`."""
    _require_model(rule_set, "lump_sum")
    days = to_count("working_days", working_days)
    km = _distance(distance_km)
    country = normalise_country("host_country", host_country)
    base = threshold(rule_set, country)
    inputs: dict[str, Any] = {
        "host_country": country, "working_days": days, "distance_km": km, "threshold": base,
        "cap": rule_set.cap, "min_working_days": rule_set.min_working_days,
        "full_rate_min_working_days": rule_set.full_rate_min_working_days,
        "full_rate_min_distance_km": rule_set.full_rate_min_distance_km,
    }
    if days < rule_set.min_working_days:
        message = (f"{days} working day{'s' if days != 1 else ''} counted; at least "
                   f"{rule_set.min_working_days} are needed for any grant, so the grant is EUR 0.00.")
        return GrantResult(ZERO, "lump_sum", ("BELOW_MIN_WORKING_DAYS",), inputs, rule_set.version, (message,))

    reasons: list[str] = []
    messages = [f"The threshold for a host in {country} is EUR {base}."]
    if days < rule_set.full_rate_min_working_days:
        reasons.append("HALVED_FEW_DAYS")
        messages.append(f"{days} working days is fewer than {rule_set.full_rate_min_working_days}: "
                        "the amount is halved.")
    if km < rule_set.full_rate_min_distance_km:
        reasons.append("HALVED_SHORT_DISTANCE")
        messages.append(f"The distance of {km} km is under {rule_set.full_rate_min_distance_km} km: "
                        "the amount is halved.")
    if reasons:
        amount = round_money(base / 2)
        if len(reasons) == 2:
            messages.append("Both conditions apply; the amount is halved once.")
    else:
        amount = base
        reasons.append("FULL_RATE")
        messages.append(f"{days} working days and {km} km: the full rate applies.")
    inputs["before_cap"] = amount
    amount = _apply_cap(amount, rule_set.cap, reasons, messages)
    return GrantResult(amount, "lump_sum", tuple(reasons), inputs, rule_set.version, tuple(messages))


def _apply_cap(amount: Decimal, cap: Decimal, reasons: list[str], messages: list[str]) -> Decimal:
    if amount > cap:
        reasons.append("CAPPED")
        messages.append(f"EUR {amount} is above the cap: the grant is capped at EUR {cap}.")
        return cap
    return amount


def compute_actual_costs_grant(
    rule_set: RuleSet, costs: Mapping[str, Decimal], working_days: int
) -> GrantResult:
    """The actual-costs grant: eligible travel, accommodation and subsistence costs, capped."""
    _require_model(rule_set, "actual_costs")
    days = to_count("working_days", working_days)
    if not isinstance(costs, Mapping):
        raise RuleInputError("costs", "must map cost categories to amounts")
    checked: dict[str, Decimal] = {}
    for category, value in costs.items():
        if category not in COST_CATEGORIES:
            raise RuleInputError(f"costs.{category}", "is not an eligible cost category (eligible: "
                                 f"{', '.join(sorted(COST_CATEGORIES))})")
        checked[category] = to_money(f"costs.{category}", value)
    total = sum(checked.values(), ZERO)
    inputs: dict[str, Any] = {"costs": dict(sorted(checked.items())), "total_costs": total,
                              "working_days": days, "cap": rule_set.cap,
                              "min_working_days": rule_set.min_working_days}
    if days < rule_set.min_working_days:
        message = (f"{days} working day{'s' if days != 1 else ''} counted; at least "
                   f"{rule_set.min_working_days} are needed for any grant, so the grant is EUR 0.00.")
        return GrantResult(ZERO, "actual_costs", ("BELOW_MIN_WORKING_DAYS",), inputs, rule_set.version,
                           (message,))
    reasons = ["ACTUAL_COSTS"]
    messages = [f"Eligible costs total EUR {total}."]
    amount = _apply_cap(total, rule_set.cap, reasons, messages)
    return GrantResult(amount, "actual_costs", tuple(reasons), inputs, rule_set.version, tuple(messages))


def apply_override(
    result: GrantResult, amount: Decimal, reason: str, proposed_by: int, approved_by: int | None
) -> GrantResult:
    """An officer's override of a computed amount, with a written reason and a second approver."""
    if not isinstance(reason, str) or not reason.strip():
        raise RuleInputError("reason", "an override needs a written reason")
    new_amount = to_money("amount", amount)
    cap = _cap_of(result)
    if new_amount > cap:
        raise RuleInputError("amount", f"EUR {new_amount} is above the cap of EUR {cap}")
    if approved_by is None:
        raise RuleInputError("approved_by", "an override needs a second person to approve it")
    if approved_by == proposed_by:
        raise RuleInputError("approved_by", "the approver must be a different person from the proposer")
    previous = result.inputs.get("override", {})
    override = {
        "computed_amount": previous.get("computed_amount", result.amount),
        "previous_amount": result.amount, "amount": new_amount, "reason": reason.strip(),
        "proposed_by": proposed_by, "approved_by": approved_by,
    }
    message = (f"Amount overridden from EUR {result.amount} to EUR {new_amount} by officer {proposed_by}, "
               f"approved by officer {approved_by}: {reason.strip()}")
    reasons = result.reasons if "OVERRIDDEN" in result.reasons else result.reasons + ("OVERRIDDEN",)
    return GrantResult(new_amount, result.model, reasons, {**result.inputs, "override": override},
                       result.rule_set_version, result.messages + (message,))


def _cap_of(result: GrantResult) -> Decimal:
    if "cap" in result.inputs:
        return to_money("cap", result.inputs["cap"])
    return get_rule_set(result.rule_set_version).cap
