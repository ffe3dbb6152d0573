"""The CSV summary of a payment batch that finance receives next to the pain.001 file.

One row per transfer, in the same order and with the same names and remittance texts as the
SEPA file (sorted by end-to-end id, SEPA characters), so the two can be reconciled line by
line; then a total row. Deterministic: the same transfers give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from reports.sepa import NAME_MAX, REMITTANCE_MAX, CreditTransfer, to_sepa_charset
from reports.xlsx import csv_bytes

HEADER = ("batch_ref", "end_to_end_id", "creditor_name", "iban", "bic", "amount_eur", "remittance")


def summary_csv(transfers: Sequence[CreditTransfer], batch_ref: str) -> bytes:
    """The batch as UTF-8 CSV (in practice ASCII: names and texts are in SEPA characters).

    Columns: batch_ref, end_to_end_id, creditor_name, iban, bic, amount_eur, remittance;
    the last row is "TOTAL" with the number of transfers and the exact Decimal sum.
    """
    total = Decimal(0)
    ordered = sorted(transfers, key=lambda t: t.end_to_end_id)
    rows: list[tuple[str, ...]] = []
    for t in ordered:
        total += t.amount
        rows.append((batch_ref, t.end_to_end_id, to_sepa_charset(t.creditor_name, NAME_MAX),
                     "".join(t.iban.split()).upper(), "".join((t.bic or "").split()).upper(), f"{t.amount:.2f}",
                     to_sepa_charset(t.remittance, REMITTANCE_MAX) or t.end_to_end_id))
    rows.append((batch_ref, "TOTAL", f"{len(ordered)} transfers", "", "", f"{total:.2f}", ""))
    return csv_bytes(HEADER, rows, lineterminator="\r\n")  # the one writer neutralises formula-like cells
