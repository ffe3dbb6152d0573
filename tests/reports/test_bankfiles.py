"""Bank answers: pain.002 status reports and camt.054 debit notifications, and bad files."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

import pytest

from reports.bankfiles import (
    CAMT054_NS,
    PAIN002_NS,
    BankFileError,
    PaymentStatus,
    make_camt054,
    make_pain002,
    parse_bank_file,
)

AT = datetime(2025, 3, 4, 9, 30)
ACCOUNT = "DE89370400440532013000"


# --------------------------------------------------------------------------- pain.002


def test_an_all_accepted_report_round_trips() -> None:
    data = make_pain002("CXP-PB-1", {"EX-000001": None, "EX-000002": None}, "BANK-STS-1", AT)
    parsed = parse_bank_file(data)
    assert parsed.kind == "pain.002"
    assert parsed.message_id == "BANK-STS-1"
    assert parsed.original_msg_id == "CXP-PB-1"
    assert parsed.group_status == "accepted"
    assert parsed.statuses == (
        PaymentStatus("EX-000001", "accepted", None, None, None),
        PaymentStatus("EX-000002", "accepted", None, None, None),
    )
    assert parsed.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("code", "text"),
    [("AC01", "Incorrect account number"), ("AC04", "Closed account number"), ("AM05", "Duplication")],
)
def test_rejections_carry_the_reason_code_and_its_meaning(code: str, text: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-000001": None, "EX-000002": code}, "BANK-STS-2", AT)
    parsed = parse_bank_file(data)
    assert parsed.group_status == "partially_accepted"
    assert parsed.statuses[1] == PaymentStatus("EX-000002", "rejected", code, text, None)


def test_a_report_rejecting_everything_has_a_rejected_group_status() -> None:
    parsed = parse_bank_file(make_pain002("CXP-PB-1", {"EX-000001": "AC04"}, "BANK-STS-3", AT))
    assert parsed.group_status == "rejected"
    assert [s.status for s in parsed.statuses] == ["rejected"]


def _pain002(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{PAIN002_NS}"><CstmrPmtStsRpt>'
            f"<GrpHdr><MsgId>BANK-9</MsgId><CreDtTm>2025-03-04T09:00:00</CreDtTm></GrpHdr>"
            f"{body}</CstmrPmtStsRpt></Document>").encode()


def test_a_bank_file_from_outside_with_other_status_codes_and_the_bank_s_own_words() -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>CXP-PB-7</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-1</OrgnlEndToEndId><TxSts>ACSC</TxSts>"
        "<OrgnlTxRef><Amt><InstdAmt Ccy=\"EUR\">366.67</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-2</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf>"
        "<Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Compte clos</AddtlInf></StsRsnInf></TxInfAndSts>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-3</OrgnlEndToEndId><TxSts>PDNG</TxSts></TxInfAndSts>"
        "</OrgnlPmtInfAndSts>"
    )
    parsed = parse_bank_file(data)
    assert parsed.group_status is None
    assert parsed.statuses == (
        PaymentStatus("EX-1", "accepted", None, None, Decimal("366.67")),
        PaymentStatus("EX-2", "rejected", "AC04", "Closed account number: Compte clos", None),
        PaymentStatus("EX-3", "pending", None, None, None),
    )


def test_a_whole_file_rejection_without_transactions_keeps_the_group_reason() -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>CXP-PB-7</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>"
    )
    parsed = parse_bank_file(data)
    assert (parsed.group_status, parsed.group_reason_code, parsed.group_reason_text) == (
        "rejected", "FF01", "Invalid file format")
    assert parsed.statuses == ()


def test_a_transaction_without_its_own_status_takes_the_payment_block_s() -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>"
        "<StsRsnInf><Rsn><Cd>AM05</Cd></Rsn></StsRsnInf>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-1</OrgnlEndToEndId></TxInfAndSts></OrgnlPmtInfAndSts>"
    )
    parsed = parse_bank_file(data)
    assert parsed.group_status == "rejected"
    assert parsed.statuses == (PaymentStatus("EX-1", "rejected", "AM05", "Duplication", None),)


def test_a_transaction_status_without_an_end_to_end_id_is_refused() -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
        "<TxInfAndSts><TxSts>ACCP</TxSts></TxInfAndSts></OrgnlPmtInfAndSts>"
    )
    with pytest.raises(BankFileError, match=r"TxInfAndSts\[1\]/OrgnlEndToEndId is missing"):
        parse_bank_file(data)


def test_an_unknown_status_code_is_refused() -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-1</OrgnlEndToEndId><TxSts>WHAT</TxSts></TxInfAndSts>"
        "</OrgnlPmtInfAndSts>"
    )
    with pytest.raises(BankFileError, match="unknown status code 'WHAT'"):
        parse_bank_file(data)


def test_a_report_without_its_own_message_id_is_refused() -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "BANK-1", AT).replace(b"<MsgId>BANK-1</MsgId>", b"")
    with pytest.raises(BankFileError, match="GrpHdr/MsgId is missing"):
        parse_bank_file(data)


def test_a_report_without_the_original_message_id_is_refused() -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "BANK-1", AT).replace(
        b"<OrgnlMsgId>CXP-PB-1</OrgnlMsgId>", b"")
    with pytest.raises(BankFileError, match="OrgnlMsgId is missing"):
        parse_bank_file(data)


# --------------------------------------------------------------------------- camt.054


def test_booked_debits_are_executed_payments() -> None:
    data = make_camt054([("EX-000001", Decimal("366.67")), ("EX-000002", Decimal("1000.00"))],
                        "BANK-NTF-1", AT, ACCOUNT, original_msg_id="CXP-PB-1")
    parsed = parse_bank_file(data)
    assert parsed.kind == "camt.054"
    assert (parsed.message_id, parsed.original_msg_id) == ("BANK-NTF-1", "CXP-PB-1")
    assert parsed.statuses == (
        PaymentStatus("EX-000001", "executed", None, None, Decimal("366.67")),
        PaymentStatus("EX-000002", "executed", None, None, Decimal("1000.00")),
    )


def test_a_returned_transfer_is_rejected_with_the_return_reason() -> None:
    data = make_camt054([], "BANK-NTF-2", AT, ACCOUNT, returns=[("EX-000003", Decimal("50.00"), "AC04")])
    assert parse_bank_file(data).statuses == (
        PaymentStatus("EX-000003", "rejected", "AC04", "Closed account number", Decimal("50.00")),)


def _camt054(entries: str) -> bytes:
    return (f'<Document xmlns="{CAMT054_NS}"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N-1</MsgId>'
            f"<CreDtTm>2025-03-04T09:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N-1</Id>"
            f"<CreDtTm>2025-03-04T09:00:00</CreDtTm><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>"
            f"{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def _entry(direction: str, status: str, details: str, amount: str = "10.00") -> str:
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts>{status}</Sts>'
            f"<BkTxCd/><NtryDtls>{details}</NtryDtls></Ntry>")


def test_unrelated_credits_and_information_entries_are_skipped_pending_ones_kept() -> None:
    data = _camt054(
        _entry("CRDT", "BOOK", "<TxDtls><Refs><EndToEndId>SOMEONE-ELSE</EndToEndId></Refs></TxDtls>")
        + _entry("DBIT", "INFO", "<TxDtls><Refs><EndToEndId>EX-1</EndToEndId></Refs></TxDtls>")
        + _entry("DBIT", "PDNG", "<TxDtls><Refs><EndToEndId>EX-2</EndToEndId></Refs></TxDtls>", "7.50")
    )
    assert parse_bank_file(data).statuses == (PaymentStatus("EX-2", "pending", None, None, Decimal("7.50")),)


def test_a_booked_debit_without_an_end_to_end_id_is_refused_with_its_place() -> None:
    data = _camt054(_entry("DBIT", "BOOK", "<TxDtls><Refs><TxId>T1</TxId></Refs></TxDtls>"))
    with pytest.raises(BankFileError, match=r"Ntfctn\[1\]/Ntry\[1\]/NtryDtls/TxDtls\[1\]/Refs/EndToEndId is missing"):
        parse_bank_file(data)


def test_an_amount_that_is_not_a_number_is_refused() -> None:
    data = _camt054(_entry("DBIT", "BOOK", "<TxDtls><Refs><EndToEndId>EX-1</EndToEndId></Refs></TxDtls>",
                           "12,50"))
    with pytest.raises(BankFileError, match=r"Ntry\[1\]/Amt: amount '12,50' is not a number"):
        parse_bank_file(data)


# --------------------------------------------------------------------------- not a bank file


def test_an_empty_file_is_refused() -> None:
    for empty in (b"", b"  \n"):
        with pytest.raises(BankFileError, match="the bank file is empty"):
            parse_bank_file(empty)


def test_malformed_xml_is_refused_with_the_parser_s_position() -> None:
    with pytest.raises(BankFileError, match=r"not well-formed XML: .*line 1"):
        parse_bank_file(b"<Document><CstmrPmtStsRpt></Document>")


def test_a_csv_is_not_a_bank_file() -> None:
    with pytest.raises(BankFileError, match="not well-formed XML"):
        parse_bank_file(b"end_to_end_id,status\nEX-1,ACCP\n")


def test_a_pain001_is_an_unknown_bank_file_type() -> None:
    data = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>'
    with pytest.raises(BankFileError, match="unknown bank file type: .*pain.001.001.03.*expected a pain.002"):
        parse_bank_file(data)


def test_another_version_of_pain002_is_an_unknown_bank_file_type() -> None:
    data = make_pain002("M", {"EX-1": None}, "B", AT).replace(b"pain.002.001.03", b"pain.002.001.10")
    with pytest.raises(BankFileError, match="unknown bank file type"):
        parse_bank_file(data)


def test_entity_tricks_are_refused_not_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<Document xmlns="' + PAIN002_NS.encode() + b'">&b;</Document>')
    with pytest.raises(BankFileError, match="DOCTYPE"):
        parse_bank_file(bomb)
    external = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<Document>&x;</Document>")
    with pytest.raises(BankFileError, match="DOCTYPE"):
        parse_bank_file(external)


def test_the_simulated_bank_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="answers"):
        make_pain002("M", {}, "B", AT)
    with pytest.raises(ValueError, match="message_id"):
        make_camt054([("EX-1", Decimal("1.00"))], "x" * 36, AT, ACCOUNT)
