"""R-ELIG: may this organisation take part in this call in this role?

All failing reasons are collected (not just the first), so that an applicant is told everything
that is wrong at once. Reason codes: ``ORG_TYPE``, ``COUNTRY``, ``SME_NOT_CLUSTER_MEMBER``,
``HOST_NEEDS_APPROVAL``, ``SAME_COUNTRY``, ``ALREADY_VISITED``, ``DUPLICATE_APPLICATION``,
``FORMAT_NOT_ALLOWED``, ``CALL_CLOSED``, ``NO_DECLARATION``, ``NO_AUDIT_RIGHTS``.

`prior_visits` is the number of visits the organisation already made (or has under way) as a
visitor, across all calls and partnerships: an organisation visits once and may host many times.
`live_applications` is the number of its other visitor applications, in any call and partnership,
that are still open (submitted earlier and not ended): an organisation holds one at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from rules.duration import FORMATS
from rules.errors import RuleInputError
from rules.explain import Decision, Reason
from rules.ruleset import RuleSet
from rules.values import normalise_country, to_count, to_date

ORG_TYPES = frozenset({"cluster_organisation", "sme", "scaleup_support_organisation"})
ROLES = frozenset({"visitor", "host"})


@dataclass(frozen=True)
class OrgFacts:
    """What the rules need to know about an organisation."""

    id: int
    org_type: str
    country: str
    subdivision: str | None = None
    cluster_member: bool = False
    host_prior_approval: bool = False
    latitude: float | None = None
    longitude: float | None = None
    region_category: str | None = None
    sectors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ApplicationFacts:
    """What the rules need to know about an application."""

    role: str
    submitted_on: date
    declaration_given: bool
    audit_rights_accepted: bool
    format: str = "exchange_visit"


@dataclass(frozen=True)
class CallWindow:
    """The dates between which a call accepts applications (both included), and the formats it allows."""

    opens_on: date
    closes_on: date
    formats: frozenset[str] = FORMATS


def _country_or_none(value: str) -> str | None:
    try:
        return normalise_country("country", value)
    except RuleInputError:
        return None


def check_eligibility(
    org: OrgFacts,
    application: ApplicationFacts,
    window: CallWindow,
    rule_set: RuleSet,
    prior_visits: int,
    counterpart: OrgFacts | None = None,
    live_applications: int = 0,
) -> Decision:
    """Judge an application against R-ELIG; returns every failing reason with the inputs used."""
    role = application.role
    if role not in ROLES:
        raise RuleInputError("role", f"{role!r} is not a role (roles: host, visitor)")
    if application.format not in FORMATS:
        raise RuleInputError("format", f"{application.format!r} is not a format")
    submitted = to_date("submitted_on", application.submitted_on)
    opens, closes = to_date("opens_on", window.opens_on), to_date("closes_on", window.closes_on)
    if closes < opens:
        raise RuleInputError("closes_on", f"the call closes ({closes}) before it opens ({opens})")
    to_count("prior_visits", prior_visits)
    to_count("live_applications", live_applications)
    allowed = frozenset(window.formats)
    if not allowed or not allowed <= FORMATS:
        raise RuleInputError("formats", f"a call allows one or more of {', '.join(sorted(FORMATS))}")

    country = _country_or_none(org.country)
    other = _country_or_none(counterpart.country) if counterpart is not None else None
    inputs: dict[str, Any] = {
        "org_id": org.id, "org_type": org.org_type, "country": country or org.country, "role": role,
        "format": application.format, "cluster_member": org.cluster_member,
        "host_prior_approval": org.host_prior_approval, "prior_visits": prior_visits,
        "submitted_on": submitted, "opens_on": opens, "closes_on": closes,
        "declaration_given": application.declaration_given,
        "audit_rights_accepted": application.audit_rights_accepted, "allowed_formats": allowed,
        "live_applications": live_applications,
        "counterpart_id": counterpart.id if counterpart else None,
        "counterpart_country": other if counterpart else None,
        "rule_set_version": rule_set.version,
    }
    reasons: list[Reason] = []
    if org.org_type not in ORG_TYPES:
        reasons.append(Reason("ORG_TYPE", f"Organisation type {org.org_type!r} cannot take part; the "
                              f"eligible types are {', '.join(sorted(ORG_TYPES))}.",
                              {"org_type": org.org_type}))
    if country is None or country not in rule_set.eligible_countries:
        reasons.append(Reason("COUNTRY", f"The organisation's country {org.country!r} is not eligible "
                              f"under rule set {rule_set.version}.", {"country": org.country}))
    if org.org_type == "sme" and not org.cluster_member:
        if role == "visitor":
            reasons.append(Reason("SME_NOT_CLUSTER_MEMBER", "A visiting SME must be a member of a cluster "
                                  "profiled on the European Cluster Collaboration Platform.", {}))
        elif not org.host_prior_approval:
            reasons.append(Reason("HOST_NEEDS_APPROVAL", "An SME that is not a cluster member may host "
                                  "only with a recorded prior approval, and none is recorded.", {}))
    if counterpart is not None and country is not None and country == other:
        reasons.append(Reason("SAME_COUNTRY", f"Visitor and host are both in {country}; an exchange "
                              "must cross a border.", {"country": country}))
    if role == "visitor" and prior_visits >= 1:
        reasons.append(Reason("ALREADY_VISITED", f"The organisation has already made {prior_visits} "
                              "visit(s); an organisation may visit only once (it may host many times).",
                              {"prior_visits": prior_visits}))
    if role == "visitor" and live_applications >= 1:
        reasons.append(Reason("DUPLICATE_APPLICATION", "The organisation already has another visitor "
                              "application under way; it may hold one at a time, across all calls and "
                              "partnerships.", {"live_applications": live_applications}))
    if application.format not in allowed:
        reasons.append(Reason("FORMAT_NOT_ALLOWED", f"The call does not allow the {application.format} format; "
                              f"it allows {', '.join(sorted(allowed))}.",
                              {"format": application.format, "allowed": sorted(allowed)}))
    if not opens <= submitted <= closes:
        reasons.append(Reason("CALL_CLOSED", f"The application was submitted on {submitted}, outside "
                              f"the call window {opens} to {closes}.",
                              {"submitted_on": submitted, "opens_on": opens, "closes_on": closes}))
    if application.declaration_given is not True:
        reasons.append(Reason("NO_DECLARATION", "The declaration on honour (no other EU funding for the "
                              "same trip) was not given.", {}))
    if application.audit_rights_accepted is not True:
        reasons.append(Reason("NO_AUDIT_RIGHTS", "The audit rights of the Commission and the partnership "
                              "(checks and audits of the exchange up to five years after payment) were "
                              "not accepted.", {}))
    return Decision.of(reasons, inputs)
