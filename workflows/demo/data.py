"""Deterministic demo data: partnerships, users, organisations in many countries, a call, applications."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from schwifty import IBAN

from workflows.db.models import (
    Application,
    Call,
    CallEvent,
    ConflictDeclaration,
    Organisation,
    Partnership,
    User,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
START = datetime(2027, 1, 4, 9, 0, tzinfo=BRUSSELS)

# city, country, subdivision, region category, latitude, longitude
# city, country, subdivision, region category, latitude, longitude
CITIES: list[tuple[str, str, str | None, str | None, float, float]] = [
    ("Brussels", "BE", "BRU", "more_developed", 50.8503, 4.3517), ("Ghent", "BE", "VLG", "more_developed", 51.0543, 3.7174),
    ("Vienna", "AT", "9", "more_developed", 48.2082, 16.3738), ("Graz", "AT", "6", "more_developed", 47.0707, 15.4395),
    ("Munich", "DE", "BY", "more_developed", 48.1351, 11.5820), ("Leipzig", "DE", "SN", "transition", 51.3397, 12.3731),
    ("Lyon", "FR", None, "more_developed", 45.7640, 4.8357), ("Toulouse", "FR", None, "more_developed", 43.6047, 1.4442),
    ("Milan", "IT", None, "more_developed", 45.4642, 9.1900), ("Naples", "IT", None, "less_developed", 40.8518, 14.2681),
    ("Barcelona", "ES", "CT", "more_developed", 41.3874, 2.1686), ("Seville", "ES", "AN", "transition", 37.3891, -5.9845),
    ("Porto", "PT", None, "less_developed", 41.1579, -8.6291), ("Kraków", "PL", None, "less_developed", 50.0647, 19.9450),
    ("Wrocław", "PL", None, "less_developed", 51.1079, 17.0385), ("Brno", "CZ", None, "less_developed", 49.1951, 16.6068),
    ("Tallinn", "EE", None, "less_developed", 59.4370, 24.7536), ("Vilnius", "LT", None, "less_developed", 54.6872, 25.2797),
    ("Copenhagen", "DK", None, "more_developed", 55.6761, 12.5683), ("Tampere", "FI", None, "more_developed", 61.4978, 23.7610),
    ("Eindhoven", "NL", None, "more_developed", 51.4416, 5.4697), ("Cork", "IE", None, "more_developed", 51.8985, -8.4756),
    ("Ljubljana", "SI", None, "transition", 46.0569, 14.5058), ("Timișoara", "RO", None, "less_developed", 45.7489, 21.2087),
]
SECTORS = ["digital", "mobility_transport_automotive", "health", "agri_food", "renewable_energy",
           "aerospace_defence", "construction", "textile", "tourism", "electronics", "energy_intensive_industries",
           "cultural_creative_industries", "proximity_social_economy", "retail"]
PREFIX = {"cluster_organisation": "Cluster", "sme": "Tech", "scaleup_support_organisation": "ScaleUp Hub"}
NAMES = ["Nova", "Orbit", "Helix", "Delta", "Aurora", "Vertex", "Lumen", "Quanta", "Boreal", "Cobalt", "Zenith",
         "Meridian", "Ionic", "Pioneer", "Solstice", "Atlas", "Kinetic", "Fjord", "Silva", "Tessera"]


# Organisations that show particular paths: key, legal name, account holder in SEPA characters, type,
# city, country, subdivision, region category, latitude, longitude, contact e-mail.
# key, legal name, account holder (its Latin form), type, city, country, subdivision, region, lat, lon, email
SPECIAL: list[tuple[str, str, str | None, str, str, str, str | None, str | None, float, float, str]] = [
    ("lviv", "Кластер ІТ Львова", "Klaster IT Lvova", "cluster_organisation", "Lviv", "UA", None,
     "less_developed", 49.8397, 24.0297, "office@it-cluster-lviv.example"),
    ("novisad", "Кластер Нови Сад", "Klaster Novi Sad", "cluster_organisation", "Novi Sad", "RS", None,
     "less_developed", 45.2671, 19.8335, "info@klaster-novisad.example"),
    ("athens", "Σύμπλεγμα Καινοτομίας Αθηνών", "Symplegma Kainotomias Athinon", "cluster_organisation", "Athens",
     "GR", None, "transition", 37.9838, 23.7275, "contact@innovation-athens.example"),
    ("oslo", "Fjord Energy Cluster Oslo", None, "cluster_organisation", "Oslo", "NO", None, "more_developed",
     59.9139, 10.7522, "post@fjord-energy.example"),
    ("reykjavik", "Jarðhiti Geothermal Cluster Reykjavík", "Jardhiti Geothermal Cluster Reykjavik",
     "scaleup_support_organisation", "Reykjavík", "IS", None, "more_developed", 64.1466, -21.9426,
     "hello@geothermal-cluster.example"),
    ("izmir", "İzmir Teknoloji Kümelenmesi", "Izmir Teknoloji Kumelenmesi", "cluster_organisation", "İzmir", "TR",
     None, "less_developed", 38.4237, 27.1428, "iletisim@izmir-kume.example"),
    ("zurich", "Zürich Fintech Cluster", None, "cluster_organisation", "Zürich", "CH", None, None,
     47.3769, 8.5417, "office@zurich-fintech.example"),
    ("manchester", "Manchester Digital Cluster", None, "cluster_organisation", "Manchester", "GB", None, None,
     53.4808, -2.2426, "team@mcr-digital.example"),
    ("riga", "Riga Photonics Cluster", None, "cluster_organisation", "Riga", "LV", None, "less_developed",
     56.9496, 24.1052, "info@photonics-riga.example"),
    ("bratislava", "Bratislava Mobility Cluster", None, "cluster_organisation", "Bratislava", "SK", None,
     "more_developed", 48.1486, 17.1077, "info@mobility-bratislava.example"),
    ("vienna2", "Danube Innovation Hub Vienna", None, "scaleup_support_organisation", "Vienna", "AT", "9",
     "more_developed", 48.2082, 16.3738, "office@danube-hub.example"),
    ("bergen", "Nordic Ocean Cluster Bergen", None, "cluster_organisation", "Bergen", "NO", None,
     "more_developed", 60.3913, 5.3221, "post@ocean-bergen.example"),
    ("faro", "Algarve Tourism Cluster Faro", None, "cluster_organisation", "Faro", "PT", None, "transition",
     37.0194, -7.9304, "geral@algarve-tourism.example"),
    ("leuven", "Leuven MedTech Cluster", None, "cluster_organisation", "Leuven", "BE", None, "more_developed",
     50.8798, 4.7005, "info@medtech-leuven.example"),
]
SIZES = {"small": 16, "full": 48}


@dataclass
class Scenario:
    """What the demo's people do for one visitor application."""

    kind: str = "normal"
    stay_days: int = 7
    notes: list[str] = field(default_factory=list)


def _iban(rng: random.Random, country: str) -> str:
    state = random.getstate()
    random.seed(rng.random())
    try:
        return str(IBAN.random(country_code=country))
    finally:
        random.setstate(state)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters of `text` (Kraków → krakow), for e-mail domains."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def partnerships() -> list[Partnership]:
    return [
        Partnership(code="CXP-NORTH", name="ClusterXchange North (Digital & Green)", debtor_name="Cluster Alliance North",
                    debtor_iban="BE68539007547034", debtor_bic="GKCCBEBB", country="BE"),
        Partnership(code="CXP-CENTRAL", name="ClusterXchange Central (Mobility & Manufacturing)",
                    debtor_name="Central Cluster Partnership", debtor_iban="DE89370400440532013000",
                    debtor_bic="COBADEFFXXX", country="DE"),
        Partnership(code="CXP-SOUTH", name="ClusterXchange South (Agri-food & Tourism)",
                    debtor_name="Southern Cluster Network", debtor_iban="ES9121000418450200051332",
                    debtor_bic="CAIXESBBXXX", country="ES"),
    ]


def organisations(rng: random.Random, parts: list[Partnership], count: int = 48) -> list[Organisation]:
    """`count` organisations of the pool (cities in turn), then the special ones (`SPECIAL`)."""
    orgs = []
    for i in range(count):
        city, country, sub, region, lat, lon = CITIES[i % len(CITIES)]
        org_type = ["cluster_organisation", "sme", "scaleup_support_organisation"][i % 3]
        name = f"{NAMES[i % len(NAMES)]} {PREFIX[org_type]} {city}"
        orgs.append(Organisation(
            legal_id=f"{country}{100000000 + i * 7919}", legal_name=name, org_type=org_type,
            cluster_member=org_type != "sme" or i % 5 != 1, host_prior_approval=False,
            country=country, subdivision=f"{country}-{sub}" if sub else None, region_category=region, city=city,
            latitude=lat, longitude=lon, sectors=rng.sample(SECTORS, 3),
            contact_email=f"contact{i:02d}@{name.split()[0].lower()}-{ascii_slug(city)[:5]}.example",
            iban=_iban(rng, country), bic=None, account_holder=name,
            partnership_id=None,
        ))
        orgs[-1].demo_partnership = parts[i % len(parts)]  # type: ignore[attr-defined]
    for n, (key, special, holder, org_type, city, country, sub, region, lat, lon, email) in enumerate(SPECIAL):
        orgs.append(Organisation(
            legal_id=f"{country}-{key.upper()}-{700 + n}", legal_name=special, org_type=org_type, cluster_member=True,
            host_prior_approval=False, country=country, subdivision=f"{country}-{sub}" if sub else None,
            region_category=region, city=city, latitude=lat, longitude=lon, sectors=rng.sample(SECTORS, 3),
            contact_email=email, iban=_iban(rng, country), bic=None, account_holder=holder or special,
            partnership_id=None,
        ))
        orgs[-1].demo_partnership = parts[n % len(parts)]  # type: ignore[attr-defined]
    return orgs


def special_id(key: str) -> str:
    """The legal id of a special organisation."""
    for n, spec in enumerate(SPECIAL):
        if spec[0] == key:
            return f"{spec[5]}-{key.upper()}-{700 + n}"
    raise KeyError(key)


def users(parts: list[Partnership], orgs: list[Organisation]) -> list[User]:
    people = [User(username="admin", display_name="Programme Support Office", email="support@clusterxchange.local",
                   role="administrator"),
              User(username="auditor", display_name="Ada Auditor", email="audit@clusterxchange.local", role="auditor")]
    for p in parts:
        short = p.code.split("-")[1].lower()
        for n in (1, 2):
            people.append(User(username=f"officer{n}.{short}", display_name=f"Officer {n} {p.code}",
                               email=f"officer{n}.{short}@clusterxchange.local", role="officer", partnership=p))
        people.append(User(username=f"finance.{short}", display_name=f"Finance {p.code}",
                           email=f"finance.{short}@clusterxchange.local", role="finance", partnership=p))
    for i, org in enumerate(orgs):
        people.append(User(username=f"org{i:02d}", display_name=org.legal_name, email=org.contact_email,
                           role="applicant", organisation=org))
    return people


def calls(parts: list[Partnership]) -> list[Call]:
    return [call(parts), autumn_call(parts)]


def call(parts: list[Partnership]) -> Call:
    c = Call(code="CXP-2027-01", title="ClusterXchange 2027 — first call for exchange visits",
             lead_partnership=parts[0], opens_on=date(2027, 1, 11), closes_on=date(2027, 3, 5),
             matching_deadline=datetime(2027, 5, 28, 18, 0, tzinfo=BRUSSELS), budget=Decimal("30000.00"),
             rule_set_version="2026.1", formats=["exchange_visit"], status="draft", partnerships=parts)
    c.events = [
        CallEvent(kind="virtual_marketplace", title="#1 VIRTUAL MARKETPLACE", starts_on=date(2027, 1, 18),
                  ends_on=date(2027, 2, 19), place="online"),
        CallEvent(kind="virtual_marketplace", title="#2 VIRTUAL MARKETPLACE", starts_on=date(2027, 3, 1),
                  ends_on=date(2027, 3, 19), place="online"),
        CallEvent(kind="joint_learning_event", title="Joint Learning Event: digital transformation",
                  starts_on=date(2027, 4, 14), ends_on=date(2027, 4, 15), place="Vienna"),
    ]
    return c


def autumn_call(parts: list[Partnership]) -> Call:
    """A second call later in the year, opened on a provisional budget that the administrator raises."""
    c = Call(code="CXP-2027-02", title="ClusterXchange 2027 — autumn call (provisional budget)",
             lead_partnership=parts[1], opens_on=date(2027, 6, 1), closes_on=date(2027, 7, 9),
             matching_deadline=datetime(2027, 8, 27, 18, 0, tzinfo=BRUSSELS), budget=Decimal("500.00"),
             rule_set_version="2026.1", formats=["exchange_visit"], status="draft", partnerships=parts)
    c.events = [CallEvent(kind="virtual_marketplace", title="#3 VIRTUAL MARKETPLACE (autumn)",
                          starts_on=date(2027, 6, 7), ends_on=date(2027, 7, 2), place="online")]
    return c


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), BRUSSELS)


def visit_window(rng: random.Random) -> tuple[date, date]:
    start = date(2027, 3, 29) + timedelta(days=rng.randrange(0, 35))
    return start, start + timedelta(days=28)


__all__ = ["Application", "ConflictDeclaration", "SIZES", "SPECIAL", "Scenario", "START", "at", "call", "calls",
           "organisations", "partnerships", "special_id", "users", "visit_window"]
