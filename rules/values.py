"""Checking and normalising the plain values the rules take: money, counts, country codes, dates.

Money is `Decimal` quantised to the cent, never float; a float is refused for money because it
cannot hold most cent amounts exactly. Distances and similar measures may come as floats (they are
converted through their decimal text, so ``199.9`` stays ``Decimal("199.9")``).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from rules.errors import RuleInputError

CENT = Decimal("0.01")
# No amount in this programme comes near this; it keeps cent arithmetic exact (28 digits).
MAX_MONEY = Decimal("1000000000000")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

# EU usage writes Greece as EL; ISO 3166-1 (and the holidays library) as GR. We store GR.
COUNTRY_ALIASES = {"EL": "GR"}
# Kosovo is eligible (SPEC §3) but has no ISO 3166-1 entry yet: XK is the code the EU and ISO's own
# user-assigned range use for it.
USER_ASSIGNED = frozenset({"XK"})


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (from pycountry's copy of the standard), plus Kosovo's XK."""
    import pycountry  # imported here: only code that judges a country pays for it

    return frozenset(c.alpha_2 for c in pycountry.countries) | USER_ASSIGNED


def normalise_country(field: str, value: object) -> str:
    """A real ISO 3166-1 alpha-2 code in upper case, with the EU's ``EL`` mapped to ``GR``.

    Two letters that name no country (``XX``, ``UK``) are refused, so a typo never becomes a country
    that simply fails every rule."""
    if not isinstance(value, str):
        raise RuleInputError(field, f"a country code must be text, not {type(value).__name__}")
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise RuleInputError(field, f"{value!r} is not a two-letter country code (ISO 3166-1 alpha-2)")
    code = COUNTRY_ALIASES.get(code, code)
    if code not in iso_countries():
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise RuleInputError(field, f"{value.strip()!r} is not an ISO 3166-1 country code{hint}")
    return code


def to_decimal(field: str, value: object, *, allow_float: bool = False) -> Decimal:
    """A finite Decimal from a Decimal, int or decimal text (and a float only when allowed)."""
    if isinstance(value, bool):
        raise RuleInputError(field, "must be a number, not true/false")
    if isinstance(value, float):
        if not allow_float:
            raise RuleInputError(field, "must be a Decimal, an integer or decimal text, not a float")
        value = repr(value)
    if isinstance(value, (Decimal, int, str)):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise RuleInputError(field, f"{value!r} is not a number") from None
        if not number.is_finite():
            raise RuleInputError(field, f"{value!r} is not a finite number")
        if number and number.adjusted() > 18:
            raise RuleInputError(field, f"{value!r} is too large")
        return number
    raise RuleInputError(field, f"must be a number, not {type(value).__name__}")


def to_money(field: str, value: object, *, non_negative: bool = True) -> Decimal:
    """An amount in euros with at most two decimals, quantised to the cent."""
    amount = to_decimal(field, value)
    if amount.copy_abs() >= MAX_MONEY:
        raise RuleInputError(field, f"{value} is not a plausible amount in euros")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise RuleInputError(field, f"{value} has more than two decimals; amounts are in euros and cents")
    if non_negative and amount < 0:
        raise RuleInputError(field, f"must not be negative (got {amount})")
    return amount.quantize(CENT)


def round_money(amount: Decimal) -> Decimal:
    """Round a computed amount to the cent, half up (as the euro conversion rules do)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_count(field: str, value: object, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum` (booleans and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleInputError(field, f"must be a whole number, not {type(value).__name__}")
    if value < minimum:
        if minimum == 0:
            raise RuleInputError(field, f"must not be negative (got {value})")
        raise RuleInputError(field, f"must be at least {minimum} (got {value})")
    return value


def to_date(field: str, value: object) -> date:
    """A calendar date (a datetime is refused: the rules work on whole days)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise RuleInputError(field, f"must be a date, not {type(value).__name__}")
    return value
