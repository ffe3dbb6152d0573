"""Bank answers: pain.002 status reports and camt.054 debit notifications, and bad files."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from decimal import Decimal

import pytest

from reports.bankfiles import (
    CAMT054_NS,
    CAMT054_VERSIONS,
    MAX_BANK_FILE_BYTES,
    PAIN002_NS,
    PAIN002_VERSIONS,
    BankFileError,
    PaymentStatus,
    make_camt054,
    make_pain002,
    parse_bank_file,
    schema_for,
)

AT = datetime(2025, 3, 4, 9, 30)
ACCOUNT = "DE89370400440532013000"


# --------------------------------------------------------------------------- pain.002


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_an_all_accepted_report_round_trips(version: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-000001": None, "EX-000002": None}, "BANK-STS-1", AT, version=version)
    assert f'xmlns="urn:iso:std:iso:20022:tech:xsd:{version}"'.encode() in data
    parsed = parse_bank_file(data)
    assert (parsed.kind, parsed.version) == ("pain.002", version)
    assert parsed.message_id == "BANK-STS-1"
    assert parsed.original_msg_id == "CXP-PB-1"
    assert parsed.group_status == "accepted"
    assert parsed.statuses == (
        PaymentStatus("EX-000001", "accepted", None, None, None),
        PaymentStatus("EX-000002", "accepted", None, None, None),
    )
    assert parsed.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
@pytest.mark.parametrize(
    ("code", "text"),
    [("AC01", "Incorrect account number"), ("AC04", "Closed account number"), ("AM05", "Duplication")],
)
def test_rejections_carry_the_reason_code_and_its_meaning(code: str, text: str, version: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-000001": None, "EX-000002": code}, "BANK-STS-2", AT, version=version)
    parsed = parse_bank_file(data)
    assert parsed.group_status == "partially_accepted"
    assert parsed.statuses[1] == PaymentStatus("EX-000002", "rejected", code, text, None)


def test_a_report_rejecting_everything_has_a_rejected_group_status() -> None:
    parsed = parse_bank_file(make_pain002("CXP-PB-1", {"EX-000001": "AC04"}, "BANK-STS-3", AT))
    assert parsed.group_status == "rejected"
    assert [s.status for s in parsed.statuses] == ["rejected"]


def _pain002(body: str, ns: str = PAIN002_NS) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><CstmrPmtStsRpt>'
            f"<GrpHdr><MsgId>BANK-9</MsgId><CreDtTm>2025-03-04T09:00:00</CreDtTm></GrpHdr>"
            f"{body}</CstmrPmtStsRpt></Document>").encode()


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_a_bank_file_from_outside_with_other_status_codes_and_the_bank_s_own_words(version: str) -> None:
    data = _pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>CXP-PB-7</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-1</OrgnlEndToEndId><TxSts>ACSC</TxSts>"
        "<OrgnlTxRef><Amt><InstdAmt Ccy=\"EUR\">366.67</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-2</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf>"
        "<Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Compte clos</AddtlInf></StsRsnInf></TxInfAndSts>"
        "<TxInfAndSts><OrgnlEndToEndId>EX-3</OrgnlEndToEndId><TxSts>PDNG</TxSts></TxInfAndSts>"
        "</OrgnlPmtInfAndSts>", f"urn:iso:std:iso:20022:tech:xsd:{version}"
    )
    parsed = parse_bank_file(data)
    assert parsed.group_status is None and parsed.version == version
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
    body = ("<OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>"
            "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>"
            "<TxInfAndSts><OrgnlEndToEndId>EX-1</OrgnlEndToEndId><TxSts>WHAT</TxSts></TxInfAndSts>"
            "</OrgnlPmtInfAndSts>")
    # pain.002.001.03 lists its status codes: the XSD itself refuses another one
    with pytest.raises(BankFileError, match=r"official pain.002.001.03 XSD: line 1: Element 'TxSts': \[facet "
                                            r"'enumeration'\] The value 'WHAT' is not an element of the set \{"):
        parse_bank_file(_pain002(body))
    # pain.002.001.12 takes any 4-letter external code: the reader refuses one it does not know
    with pytest.raises(BankFileError, match="TxInfAndSts\\[1\\]/TxSts: unknown status code 'WHAT'"):
        parse_bank_file(_pain002(body, "urn:iso:std:iso:20022:tech:xsd:pain.002.001.12"))


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_a_report_without_its_own_message_id_is_refused_by_the_schema(version: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "BANK-1", AT, version=version).replace(
        b"<MsgId>BANK-1</MsgId>", b"")
    with pytest.raises(BankFileError, match=rf"official {version} XSD: line 6: Element 'CreDtTm': "
                                            r"This element is not expected. Expected is \( MsgId \)"):
        parse_bank_file(data)


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_a_report_without_the_original_message_id_is_refused_by_the_schema(version: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "BANK-1", AT, version=version).replace(
        b"<OrgnlMsgId>CXP-PB-1</OrgnlMsgId>", b"")
    with pytest.raises(BankFileError, match=r"line \d+: Element 'OrgnlMsgNmId': .*Expected is \( OrgnlMsgId \)"):
        parse_bank_file(data)


# --------------------------------------------------------------------------- camt.054


@pytest.mark.parametrize("version", CAMT054_VERSIONS)
def test_booked_debits_are_executed_payments(version: str) -> None:
    data = make_camt054([("EX-000001", Decimal("366.67")), ("EX-000002", Decimal("1000.00"))],
                        "BANK-NTF-1", AT, ACCOUNT, original_msg_id="CXP-PB-1", version=version)
    parsed = parse_bank_file(data)
    assert (parsed.kind, parsed.version) == ("camt.054", version)
    assert (parsed.message_id, parsed.original_msg_id) == ("BANK-NTF-1", "CXP-PB-1")
    assert parsed.statuses == (
        PaymentStatus("EX-000001", "executed", None, None, Decimal("366.67")),
        PaymentStatus("EX-000002", "executed", None, None, Decimal("1000.00")),
    )


@pytest.mark.parametrize("version", CAMT054_VERSIONS)
def test_a_returned_transfer_is_rejected_with_the_return_reason(version: str) -> None:
    data = make_camt054([], "BANK-NTF-2", AT, ACCOUNT, returns=[("EX-000003", Decimal("50.00"), "AC04")],
                        version=version)
    assert parse_bank_file(data).statuses == (
        PaymentStatus("EX-000003", "rejected", "AC04", "Closed account number", Decimal("50.00")),)


def _camt054(entries: str, ns: str = CAMT054_NS) -> bytes:
    return (f'<Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N-1</MsgId>'
            f"<CreDtTm>2025-03-04T09:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N-1</Id>"
            f"<CreDtTm>2025-03-04T09:00:00</CreDtTm><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>"
            f"{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def _entry(direction: str, status: str, details: str, amount: str = "10.00", v08: bool = False) -> str:
    status = f"<Cd>{status}</Cd>" if v08 else status  # camt.054.001.08: Ntry/Sts/Cd, .02: Ntry/Sts
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts>{status}</Sts>'
            f"<BkTxCd/><NtryDtls>{details}</NtryDtls></Ntry>")


@pytest.mark.parametrize("version", CAMT054_VERSIONS)
def test_unrelated_credits_and_information_entries_are_skipped_pending_ones_kept(version: str) -> None:
    v08 = version.endswith(".08")
    data = _camt054(
        _entry("CRDT", "BOOK", "<TxDtls><Refs><EndToEndId>SOMEONE-ELSE</EndToEndId></Refs></TxDtls>", v08=v08)
        + _entry("DBIT", "INFO", "<TxDtls><Refs><EndToEndId>EX-1</EndToEndId></Refs></TxDtls>", v08=v08)
        + _entry("DBIT", "PDNG", "<TxDtls><Refs><EndToEndId>EX-2</EndToEndId></Refs></TxDtls>", "7.50", v08=v08),
        f"urn:iso:std:iso:20022:tech:xsd:{version}",
    )
    assert parse_bank_file(data).statuses == (PaymentStatus("EX-2", "pending", None, None, Decimal("7.50")),)


def test_a_booked_debit_without_an_end_to_end_id_is_refused_with_its_place() -> None:
    data = _camt054(_entry("DBIT", "BOOK", "<TxDtls><Refs><TxId>T1</TxId></Refs></TxDtls>"))
    with pytest.raises(BankFileError, match=r"Ntfctn\[1\]/Ntry\[1\]/NtryDtls/TxDtls\[1\]/Refs/EndToEndId is missing"):
        parse_bank_file(data)


def test_an_amount_that_is_not_a_number_is_refused_by_the_schema() -> None:
    data = _camt054(_entry("DBIT", "BOOK", "<TxDtls><Refs><EndToEndId>EX-1</EndToEndId></Refs></TxDtls>",
                           "12,50"))
    with pytest.raises(BankFileError, match=r"official camt.054.001.02 XSD: line 1: Element 'Amt': '12,50' is "
                                            r"not a valid value of the atomic type"):
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
    with pytest.raises(BankFileError, match=r"unknown bank file type: .*pain.001.001.03; expected a payment status "
                                            r"report \(pain.002.001.03 or pain.002.001.12\) or a debit notification "
                                            r"\(camt.054.001.02 or camt.054.001.08\)"):
        parse_bank_file(data)


@pytest.mark.parametrize("other", [b"pain.002.001.09", b"pain.002.001.10", b"camt.054.001.04"])
def test_a_version_without_a_shipped_official_xsd_is_an_unknown_bank_file_type(other: bytes) -> None:
    data = make_pain002("M", {"EX-1": None}, "B", AT).replace(b"pain.002.001.03", other)
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
    with pytest.raises(ValueError, match="version must be one of pain.002.001.03, pain.002.001.12, not "
                                         "'pain.002.001.10'"):
        make_pain002("M", {"EX-1": None}, "B", AT, version="pain.002.001.10")
    with pytest.raises(ValueError, match=r"answers\['EX-1'\] must be an ISO 20022 reason code"):
        make_pain002("M", {"EX-1": "closed"}, "B", AT)
    with pytest.raises(ValueError, match="the amount of EX-1 must be a positive Decimal"):
        make_camt054([("EX-1", Decimal("-1.00"))], "N", AT, ACCOUNT, version="camt.054.001.08")


# --------------------------------------------------------------------------- the official XSDs


@pytest.mark.parametrize("version", PAIN002_VERSIONS + CAMT054_VERSIONS)
def test_every_shipped_xsd_is_the_iso_schema_of_its_version(version: str) -> None:
    from importlib import resources

    xsd = (resources.files("reports") / "xsd" / f"{version}.xsd").read_bytes()
    assert f'targetNamespace="urn:iso:std:iso:20022:tech:xsd:{version}"'.encode() in xsd
    assert hashlib.sha256(xsd).hexdigest() in (resources.files("reports") / "xsd" / "README.md").read_text()
    assert schema_for(version) is schema_for(version)  # compiled once per thread


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_the_simulated_status_reports_are_valid_against_the_official_xsd(version: str) -> None:
    from lxml import etree

    data = make_pain002("CXP-PB-1", {"EX-1": None, "EX-2": "AC04"}, "B", AT, "CXP-PI-1", version=version)
    schema = schema_for(version)
    assert schema.validate(etree.fromstring(data)), schema.error_log


@pytest.mark.parametrize("version", CAMT054_VERSIONS)
def test_the_simulated_notifications_are_valid_against_the_official_xsd(version: str) -> None:
    from lxml import etree

    data = make_camt054([("EX-1", Decimal("12.34"))], "N", AT, ACCOUNT, original_msg_id="CXP-PB-1",
                        returns=[("EX-2", Decimal("5.00"), "AC04")], version=version)
    schema = schema_for(version)
    assert schema.validate(etree.fromstring(data)), schema.error_log


def test_camt054_001_08_puts_the_booking_status_under_sts_cd_and_both_versions_read_it() -> None:
    v02 = make_camt054([("EX-1", Decimal("1.00"))], "N", AT, ACCOUNT)
    v08 = make_camt054([("EX-1", Decimal("1.00"))], "N", AT, ACCOUNT, version="camt.054.001.08")
    assert b"<Sts>BOOK</Sts>" in v02 and re.search(rb"<Sts>\s*<Cd>BOOK</Cd>\s*</Sts>", v08)
    assert parse_bank_file(v02).statuses == parse_bank_file(v08).statuses == (
        PaymentStatus("EX-1", "executed", None, None, Decimal("1.00")),)
    pending = _camt054(_entry("DBIT", "PDNG", "<TxDtls><Refs><EndToEndId>EX-9</EndToEndId></Refs>"
                                              '<Amt Ccy="EUR">3.00</Amt></TxDtls>', v08=True),
                       "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08")
    assert parse_bank_file(pending).statuses == (PaymentStatus("EX-9", "pending", None, None, Decimal("3.00")),)


def test_a_02_style_status_in_a_08_file_is_refused_by_the_schema() -> None:
    data = _camt054(_entry("DBIT", "BOOK", "<TxDtls><Refs><EndToEndId>EX-1</EndToEndId></Refs></TxDtls>"),
                    "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08")
    with pytest.raises(BankFileError, match=r"official camt.054.001.08 XSD: line 1: Element 'Sts': "):
        parse_bank_file(data)


@pytest.mark.parametrize("version", PAIN002_VERSIONS)
def test_a_missing_mandatory_element_is_refused_with_the_schema_message_and_line(version: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "B", AT, version=version).replace(
        b"<OrgnlPmtInfId>CXP-PB-1</OrgnlPmtInfId>", b"")
    with pytest.raises(BankFileError) as refused:
        parse_bank_file(data)
    line = next(n for n, text in enumerate(data.decode().splitlines(), start=1) if "<PmtInfSts>" in text)
    assert str(refused.value) == (
        f"the bank file does not match the official {version} XSD: line {line}: Element 'PmtInfSts': "
        "This element is not expected. Expected is ( OrgnlPmtInfId )")


@pytest.mark.parametrize("version", CAMT054_VERSIONS)
def test_elements_in_the_wrong_namespace_are_refused_by_the_schema(version: str) -> None:
    data = make_camt054([("EX-1", Decimal("1.00"))], "N", AT, ACCOUNT, version=version).replace(
        b"<GrpHdr>", b'<GrpHdr xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">')
    with pytest.raises(BankFileError, match=rf"official {version} XSD: line 4: Element 'GrpHdr': This element "
                                            r"is not expected. Expected is \( GrpHdr \)"):
        parse_bank_file(data)


@pytest.mark.parametrize(("version", "good", "bad", "error"), [
    ("pain.002.001.03", b"<CreDtTm>2025-03-04T09:30:00</CreDtTm>", b"<CreDtTm>4 March 2025</CreDtTm>",
     r"Element 'CreDtTm': '4 March 2025' is not a valid value of the atomic type 'ISODateTime'"),
    ("pain.002.001.12", b"<OrgnlNbOfTxs>1</OrgnlNbOfTxs>", b"<OrgnlNbOfTxs>one</OrgnlNbOfTxs>",
     r"Element 'OrgnlNbOfTxs': \[facet 'pattern'\] The value 'one' is not accepted"),
])
def test_a_value_of_the_wrong_type_is_refused_by_the_schema(version: str, good: bytes, bad: bytes,
                                                             error: str) -> None:
    data = make_pain002("CXP-PB-1", {"EX-1": None}, "B", AT, version=version)
    assert good in data
    with pytest.raises(BankFileError, match=rf"official {version} XSD: line \d+: {error}"):
        parse_bank_file(data.replace(good, bad))


def test_an_oversized_file_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(BankFileError, match="more than a bank file may have"):
        parse_bank_file(b"<" + b"x" * MAX_BANK_FILE_BYTES + b"/>")
