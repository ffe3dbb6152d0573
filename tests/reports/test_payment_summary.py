"""The finance officer's CSV summary of a payment batch."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from reports.payment_summary import HEADER, summary_csv
from reports.sepa import CreditTransfer


def lines() -> list[CreditTransfer]:
    return [
        CreditTransfer("EX-000002", "Ørsted Energi Klynge", "DE89370400440532013000", "COBADEFFXXX",
                       Decimal("366.67"), "Grant EX-000002"),
        CreditTransfer("EX-000001", "Łódź Textile Cluster", "fr14 2004 1010 0505 0001 3M02 606", None,
                       Decimal("366.67"), "Grant EX-000001"),
        CreditTransfer("EX-000003", "-Minus Cluster", "BE68539007547034", None, Decimal("366.67"),
                       "=HYPERLINK(evil)"),
    ]


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_one_row_per_transfer_sorted_like_the_sepa_file_then_a_total() -> None:
    table = rows(summary_csv(lines(), "PB-2025-W10"))
    assert table[0] == list(HEADER)
    assert [r[1] for r in table[1:]] == ["EX-000001", "EX-000002", "EX-000003", "TOTAL"]
    assert table[-1] == ["PB-2025-W10", "TOTAL", "3 transfers", "", "", "1100.01", ""]


def test_full_iban_bic_and_the_names_as_sent_to_the_bank() -> None:
    first, second = rows(summary_csv(lines(), "PB-1"))[1:3]
    assert first == ["PB-1", "EX-000001", "Lodz Textile Cluster", "FR1420041010050500013M02606", "",
                     "366.67", "Grant EX-000001"]
    assert second[2:5] == ["Orsted Energi Klynge", "DE89370400440532013000", "COBADEFFXXX"]


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() -> None:
    third = rows(summary_csv(lines(), "PB-1"))[3]
    assert third[2] == "'-Minus Cluster"
    assert not third[6].startswith(("=", "+", "-", "@"))


def test_the_same_batch_gives_the_same_bytes() -> None:
    assert summary_csv(lines(), "PB-1") == summary_csv(list(reversed(lines())), "PB-1")
