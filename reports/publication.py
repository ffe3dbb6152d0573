"""The EU's files (SPEC §7): the ex-post publication extract (recipient organisation, country, amount,
purpose — no person's name or email) and the FSTP financial report of a call per partnership and
country, reconciled to the bank: the executed payment lines must equal the paid claims, and every
difference is listed."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PUBLICATION_COLUMNS = ("recipient", "country", "amount_eur", "purpose", "call", "exchange")
FSTP_COLUMNS = ("partnership", "country", "grants_paid", "paid_eur", "executed_eur", "committed_eur")


@dataclass(frozen=True)
class PaidClaim:
    exchange: str
    call: str
    partnership: str
    recipient: str
    country: str
    host_country: str | None
    format: str
    amount: Decimal
    status: str


def purpose(claim: PaidClaim) -> str:
    kind = claim.format.replace("_", " ")
    where = f" to {claim.host_country}" if claim.host_country else ""
    return f"ClusterXchange {kind}{where} (financial support to third parties, call {claim.call})"


def publication_rows(claims: Sequence[PaidClaim]) -> list[tuple[Any, ...]]:
    return sorted((c.recipient, c.country, f"{c.amount:.2f}", purpose(c), c.call, c.exchange) for c in claims)


def fstp_rows(claims: Sequence[PaidClaim], executed: dict[str, Decimal]) -> list[tuple[Any, ...]]:
    """Per partnership and country: grants paid, paid total, the bank's executed total, committed."""
    groups: dict[tuple[str, str], list[Decimal]] = {}
    for c in claims:
        g = groups.setdefault((c.partnership, c.country), [Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        if c.status == "paid":
            g[0] += 1
            g[1] += c.amount
        else:
            g[3] += c.amount
        g[2] += executed.get(c.exchange, Decimal(0))
    return [(p, k, int(g[0]), f"{g[1]:.2f}", f"{g[2]:.2f}", f"{g[3]:.2f}") for (p, k), g in sorted(groups.items())]


def differences(claims: Sequence[PaidClaim], executed: dict[str, Decimal]) -> list[dict[str, str]]:
    """Every claim whose paid amount and executed bank lines disagree, and every executed line without
    a paid claim."""
    out = []
    known = {c.exchange: c for c in claims}
    for c in sorted(claims, key=lambda c: c.exchange):
        paid = c.amount if c.status == "paid" else Decimal(0)
        bank = executed.get(c.exchange, Decimal(0))
        if paid != bank:
            out.append({"exchange": c.exchange, "paid_eur": f"{paid:.2f}", "executed_eur": f"{bank:.2f}",
                        "problem": f"the claim is {c.status} for EUR {c.amount:.2f}, the bank executed EUR {bank:.2f}"})
    for ref in sorted(set(executed) - set(known)):
        out.append({"exchange": ref, "paid_eur": "0.00", "executed_eur": f"{executed[ref]:.2f}",
                    "problem": "the bank executed a payment for an exchange with no claim in this call"})
    return out
