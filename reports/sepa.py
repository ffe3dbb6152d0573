"""SEPA credit transfer files: ISO 20022 pain.001.001.03, built deterministically.

Pure building blocks for the payment batch (SPEC §6): validate a creditor's bank details
(`validate_creditor`), bring free text in any script into the SEPA Latin character set
(`to_sepa_charset`, through `anyascii`), pick a TARGET2 business day (`next_business_day`)
and build a schema-valid pain.001 file (`build_pain001`) that is byte-identical for identical
inputs, so that re-exporting a stored batch gives the same file.

The XML skeleton comes from `sepaxml` (SepaTransfer, batch booking, schema pain.001.001.03).
sepaxml puts a timestamp and random hex into MsgId, PmtInfId and CreDtTm, so those three
values are overwritten with lxml from the caller's arguments. The result is validated with
lxml against the official pain.001.001.03 XSD that sepaxml ships (`sepaxml/schemas/`), and the
control figures (NbOfTxs, CtrlSum) are checked against the lines, before anything is returned.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from holidays import HolidayBase

PAIN001_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
PAIN001_SCHEMA = "pain.001.001.03"
MAX_AMOUNT = Decimal("999999999.99")  # the largest amount a SEPA credit transfer may carry
NAME_MAX = 70
REMITTANCE_MAX = 140
ID_MAX = 35

_CENT = Decimal("0.01")
_SEPA_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)
# What anyascii leaves in ASCII that has an obvious SEPA equivalent; any other non-SEPA ASCII
# character becomes a space.
_ASCII_TO_SEPA = str.maketrans({"&": "+", "_": "-", '"': "'", "`": "'", "[": "(", "]": ")", "{": "(",
                                "}": ")", "<": "(", ">": ")", "~": "-"})
# Unicode categories dropped before transliteration: pictographs and other symbols (anyascii spells
# emoji as ":name:"), controls, formats, private-use and unassigned code points.
_DROPPED_CATEGORIES = frozenset({"So", "Cc", "Cf", "Co", "Cs", "Cn"})
_SEPA_ONLY = re.compile(r"[a-zA-Z0-9/\-?:().,'+ ]*")
# EPC rule for references and identifiers: SEPA characters without space, no leading or
# trailing "/" and no "//".
_ID_RE = re.compile(r"^[A-Za-z0-9/\-?:().,'+]{1,35}$")
# The BICIdentifier pattern of the pain.001.001.03 XSD.
_BIC_RE = re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")
# EEA members: SEPA countries outside the EEA (CH, GB, SM, MC, VA, AD...) need a BIC.
_EEA = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
    .split()
)
# Territories whose IBANs use another country's code, while their banks may have their own.
_BIC_COUNTRIES_FOR_IBAN = {
    "FR": {"FR", "GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"},
    "MC": {"MC", "FR"},
    "FI": {"FI", "AX"},
    "GB": {"GB", "JE", "GG", "IM"},
}
# Per-thread caches of the TARGET calendar and the compiled XSD (neither is free to build).
_local = threading.local()


@dataclass(frozen=True)
class Debtor:
    """The programme's own account that pays the grants."""

    name: str
    iban: str
    bic: str | None


@dataclass(frozen=True)
class CreditTransfer:
    """One payment line; `end_to_end_id` is the exchange id (e.g. "EX-000123")."""

    end_to_end_id: str
    creditor_name: str
    iban: str
    bic: str | None
    amount: Decimal
    remittance: str


@dataclass(frozen=True)
class BankDetailsProblem:
    """Why a line cannot be paid: `field` is "iban", "bic", "creditor_name" or "amount"."""

    end_to_end_id: str
    field: str
    message: str


class SepaValidationError(ValueError):
    """A pain.001 document is not schema-valid or its control figures are wrong."""


class InvalidTransfersError(ValueError):
    """Some lines of a batch have bad bank details; `problems` says which and why."""

    def __init__(self, problems: Sequence[BankDetailsProblem]) -> None:
        self.problems = tuple(problems)
        text = "; ".join(f"{p.end_to_end_id} {p.field}: {p.message}" for p in self.problems)
        super().__init__(f"bank details of {len(self.problems)} transfer(s) are invalid: {text}")


# --------------------------------------------------------------------------- text and dates


def to_sepa_charset(text: str, max_len: int) -> str:
    """Transliterate `text` to the SEPA Latin set (a-z A-Z 0-9 / - ? : ( ) . , ' + space).

    Any script is written in Latin letters by `anyascii` ("Αθηνών" -> "Athinon", "Львова" ->
    "L'vova", "Þekking" -> "Thekking", "İstanbul" -> "Istanbul"); "&" becomes "+", quotes "'",
    and any other character outside the set (emoji, symbols, controls) a space. Runs of spaces
    are collapsed and the result is truncated to `max_len` characters.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    if _SEPA_ONLY.fullmatch(text):  # the usual case: nothing to transliterate (10x faster)
        return " ".join(text.split())[:max_len].rstrip()
    from anyascii import anyascii  # deferred: only text outside the SEPA set needs it

    kept = "".join(" " if unicodedata.category(c) in _DROPPED_CATEGORIES else c for c in text)
    ascii_text = anyascii(unicodedata.normalize("NFC", kept)).translate(_ASCII_TO_SEPA)
    sepa = "".join(c if c in _SEPA_CHARS else " " for c in ascii_text)
    return " ".join(sepa.split())[:max_len].rstrip()


def has_letter_or_digit(text: str) -> bool:
    """True when SEPA text says something: a name of only punctuation ("''", "-") does not."""
    return any(c.isalnum() for c in text)


def _target_holidays() -> HolidayBase:
    calendar = getattr(_local, "target_holidays", None)
    if calendar is None:
        import holidays  # deferred: about 40 ms to import

        calendar = holidays.financial_holidays("ECB")  # the TARGET2 closing days
        _local.target_holidays = calendar
    return calendar


def target_closing_reason(d: date) -> str | None:
    """Why TARGET2 is closed on `d` ("Saturday", "Good Friday"...), or None if it is open."""
    if d.weekday() >= 5:
        return d.strftime("%A")
    return _target_holidays().get(d)


def is_business_day(d: date) -> bool:
    """True when TARGET2 settles payments on `d`."""
    return target_closing_reason(d) is None


def next_business_day(d: date) -> date:
    """`d` itself when it is a TARGET2 business day, otherwise the first one after it."""
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


# --------------------------------------------------------------------------- bank details


def _iban_problem(raw: str) -> tuple[str | None, str | None, str | None]:
    """(compact IBAN, country code, problem message) for a creditor or debtor IBAN."""
    from schwifty import IBAN
    from schwifty.exceptions import (
        InvalidChecksumDigits,
        InvalidCountryCode,
        InvalidLength,
        SchwiftyException,
    )

    shown = " ".join(raw.split())
    if not shown:
        return None, None, "the IBAN is missing"
    try:
        iban = IBAN(raw)
    except InvalidChecksumDigits:
        return None, None, f"IBAN {shown} has wrong check digits: a character was mistyped"
    except InvalidCountryCode:
        return None, None, f"IBAN {shown} does not start with a known country code"
    except InvalidLength:
        return None, None, f"IBAN {shown} does not have the length used in its country"
    except SchwiftyException as exc:
        return None, None, f"IBAN {shown} is not valid: {exc}"
    if not iban.in_sepa_zone:
        return None, iban.country_code, (
            f"IBAN {shown} is from {iban.country_code}, which is outside the SEPA zone: "
            "a SEPA credit transfer cannot reach it"
        )
    return str(iban.compact), iban.country_code, None


def _bic_problem(raw: str, iban_country: str | None) -> tuple[str | None, str | None]:
    """(compact BIC, problem message); checks format, country and IBAN consistency."""
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    shown = raw.strip()
    try:
        bic = BIC(raw)
    except SchwiftyException as exc:
        return None, f"BIC {shown!r} is not a valid BIC (8 or 11 characters): {exc}"
    compact = str(bic.compact)
    if not _BIC_RE.match(compact):
        return None, f"BIC {shown!r} does not have the format of a BIC"
    if iban_country is not None:
        allowed = _BIC_COUNTRIES_FOR_IBAN.get(iban_country, {iban_country})
        if bic.country_code not in allowed:
            return None, (
                f"BIC {compact} belongs to a bank in {bic.country_code}, "
                f"but the IBAN is from {iban_country}"
            )
    return compact, None


def _amount_problem(amount: object) -> str | None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return f"the amount must be a decimal number of euros, not {amount!r}"
    if amount <= 0:
        return f"the amount must be positive, not {amount}"
    if amount != amount.quantize(_CENT):
        return f"the amount {amount} has more than 2 decimals"
    if amount > MAX_AMOUNT:
        return f"the amount {amount} is above the SEPA maximum of {MAX_AMOUNT}"
    return None


# --------------------------------------------------------------------------- the file


@dataclass(frozen=True)
class _Line:
    """A transfer as it goes into the file: checked, compact and in SEPA characters."""

    end_to_end_id: str
    name: str
    iban: str
    bic: str | None
    cents: int
    remittance: str


def _examine(t: CreditTransfer) -> tuple[_Line | None, list[BankDetailsProblem]]:
    problems: list[BankDetailsProblem] = []

    def add(field: str, message: str) -> None:
        problems.append(BankDetailsProblem(t.end_to_end_id, field, message))

    iban, country, message = _iban_problem(t.iban or "")
    if message:
        add("iban", message)
    bic = None
    if t.bic is not None and t.bic.strip():
        bic, bic_message = _bic_problem(t.bic, country if iban else None)
        if bic_message:
            add("bic", bic_message)
    elif iban and country not in _EEA:
        add("bic", f"a BIC is required for a payment to {country}, outside the EEA")
    name = to_sepa_charset(t.creditor_name or "", NAME_MAX)
    if not has_letter_or_digit(name):
        add("creditor_name", _unusable_name("the account holder's name", t.creditor_name or ""))
    amount_message = _amount_problem(t.amount)
    if amount_message:
        add("amount", amount_message)
    if problems or iban is None:
        return None, problems
    remittance = to_sepa_charset(t.remittance or "", REMITTANCE_MAX)
    if not has_letter_or_digit(remittance):
        remittance = t.end_to_end_id
    return _Line(t.end_to_end_id, name, iban, bic, int(t.amount * 100), remittance), problems


def _unusable_name(what: str, raw: str) -> str:
    if not raw.strip():
        return f"{what} is missing"
    return (f"{what} {raw.strip()[:40]!r} has no letter or digit once written in SEPA characters "
            "(a-z A-Z 0-9 / - ? : ( ) . , ' +): give it in Latin letters")


def validate_creditor(t: CreditTransfer) -> list[BankDetailsProblem]:
    """Every reason why `t` cannot go into a SEPA batch (an empty list when it can).

    Checks the IBAN (format, check digits, SEPA-reachable country), the BIC when given
    (format, and a bank in the IBAN's country; required outside the EEA), the name (not
    empty in SEPA characters) and the amount (a positive Decimal with at most 2 decimals).
    """
    return _examine(t)[1]


def _check_identifier(field: str, value: str) -> None:
    ok = bool(_ID_RE.match(value or "")) and not (
        value.startswith("/") or value.endswith("/") or "//" in value
    )
    if not ok:
        raise ValueError(
            f"{field} {value!r} must be 1 to {ID_MAX} characters from A-Z a-z 0-9 / - ? : ( ) . , ' +"
            " without spaces, must not start or end with '/' and must not contain '//'"
        )


def _clean_debtor(debtor: Debtor) -> tuple[str, str, str | None]:
    iban, country, message = _iban_problem(debtor.iban or "")
    if message or iban is None:
        raise ValueError(f"debtor.iban: {message}")
    bic = None
    if debtor.bic is not None and debtor.bic.strip():
        bic, message = _bic_problem(debtor.bic, country)
        if message:
            raise ValueError(f"debtor.bic: {message}")
    name = to_sepa_charset(debtor.name or "", NAME_MAX)
    if not has_letter_or_digit(name):
        raise ValueError(f"debtor.name: {_unusable_name('the name', debtor.name or '')}")
    return name, iban, bic


def _clean_lines(transfers: Sequence[CreditTransfer]) -> list[_Line]:
    """Checked lines sorted by end-to-end id, so the file does not depend on query order."""
    if not transfers:
        raise ValueError("transfers: a payment batch needs at least one transfer")
    lines: list[_Line] = []
    problems: list[BankDetailsProblem] = []
    seen: set[str] = set()
    for t in sorted(transfers, key=lambda t: t.end_to_end_id):
        _check_identifier("end_to_end_id", t.end_to_end_id)
        if t.end_to_end_id in seen:
            raise ValueError(f"end_to_end_id {t.end_to_end_id} appears twice in the batch")
        seen.add(t.end_to_end_id)
        line, found = _examine(t)
        problems.extend(found)
        if line is not None:
            lines.append(line)
    if problems:
        raise InvalidTransfersError(problems)
    return lines


def _check_execution_date(execution_date: date, created_at: datetime) -> None:
    reason = target_closing_reason(execution_date)
    if reason is not None:
        raise ValueError(
            f"execution_date {execution_date.isoformat()} is not a TARGET2 business day "
            f"({reason}); the next business day is {next_business_day(execution_date).isoformat()}"
        )
    if execution_date < created_at.date():
        raise ValueError(
            f"execution_date {execution_date.isoformat()} is before the file's creation date "
            f"{created_at.date().isoformat()}"
        )


def _sepaxml_document(debtor: tuple[str, str, str | None], lines: Sequence[_Line],
                      execution_date: date) -> bytes:
    """The document as sepaxml writes it (with its own random MsgId, PmtInfId, CreDtTm)."""
    from sepaxml import SepaTransfer  # deferred: only the payment batch needs it

    name, iban, bic = debtor
    config: dict[str, Any] = {"name": name, "IBAN": iban, "batch": True, "currency": "EUR"}
    if bic:
        config["BIC"] = bic
    transfer = SepaTransfer(config, schema=PAIN001_SCHEMA, clean=False)
    for line in lines:
        payment: dict[str, Any] = {
            "name": line.name,
            "IBAN": line.iban,
            "amount": line.cents,
            "execution_date": execution_date,
            "description": line.remittance,
            "endtoend_id": line.end_to_end_id,
        }
        if line.bic:
            payment["BIC"] = line.bic
        transfer.add_payment(payment)
    document: bytes = transfer.export(validate=False)  # sepaxml has no type information
    return document


def _q(path: str) -> str:
    """'A/B' -> '{ns}A/{ns}B' for lxml's find()."""
    return "/".join(f"{{{PAIN001_NS}}}{step}" for step in path.split("/"))


def _pin_volatile_fields(xml: bytes, msg_id: str, pmt_inf_id: str, created_at: datetime,
                         debtor_has_bic: bool) -> bytes:
    """Replace sepaxml's random/time-based ids with the caller's and serialise canonically."""
    root = etree.fromstring(xml, _parser())
    initiation = root.find(_q("CstmrCdtTrfInitn"))
    payment_infos = initiation.findall(_q("PmtInf"))
    if len(payment_infos) != 1:  # one execution date gives one PmtInf
        raise SepaValidationError(f"expected one PmtInf block, sepaxml wrote {len(payment_infos)}")
    initiation.find(_q("GrpHdr/MsgId")).text = msg_id
    initiation.find(_q("GrpHdr/CreDtTm")).text = created_at.replace(microsecond=0).isoformat()
    payment_infos[0].find(_q("PmtInfId")).text = pmt_inf_id
    if not debtor_has_bic:  # EPC guideline: "NOTPROVIDED" rather than an empty agent
        institution = payment_infos[0].find(_q("DbtrAgt/FinInstnId"))
        other = etree.SubElement(institution, f"{{{PAIN001_NS}}}Othr")
        etree.SubElement(other, f"{{{PAIN001_NS}}}Id").text = "NOTPROVIDED"
    etree.cleanup_namespaces(root)  # drop sepaxml's unused xmlns:xsi
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)  # lxml has no type information
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def build_pain001(debtor: Debtor, transfers: Sequence[CreditTransfer], msg_id: str,
                  pmt_inf_id: str, execution_date: date, created_at: datetime) -> bytes:
    """A schema-valid pain.001.001.03 file paying `transfers` from `debtor`'s account.

    Deterministic: the same arguments give the same bytes (lines are sorted by end-to-end
    id; nothing reads the clock). Raises ValueError naming the field for a bad id, an
    execution date that is not a TARGET2 business day or lies before `created_at`, bad
    debtor details; InvalidTransfersError listing every line with bad bank details; and
    SepaValidationError if the result does not pass the XSD or the control-figure checks.
    """
    _check_identifier("msg_id", msg_id)
    _check_identifier("pmt_inf_id", pmt_inf_id)
    _check_execution_date(execution_date, created_at)
    clean_debtor = _clean_debtor(debtor)
    lines = _clean_lines(transfers)
    xml = _sepaxml_document(clean_debtor, lines, execution_date)
    xml = _pin_volatile_fields(xml, msg_id, pmt_inf_id, created_at, clean_debtor[2] is not None)
    validate_pain001(xml)
    return xml


# --------------------------------------------------------------------------- validation


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def pain001_schema() -> etree.XMLSchema:
    """The official pain.001.001.03 XSD shipped inside the sepaxml package, compiled once."""
    schema = getattr(_local, "pain001_schema", None)
    if schema is None:
        xsd = resources.files("sepaxml").joinpath("schemas", f"{PAIN001_SCHEMA}.xsd")
        schema = etree.XMLSchema(etree.fromstring(xsd.read_bytes(), _parser()))
        _local.pain001_schema = schema
    return schema


def validate_pain001(xml: bytes) -> None:
    """Raise SepaValidationError unless `xml` is a valid pain.001.001.03 SEPA file.

    Checks well-formedness, the official XSD, and the SEPA control figures: NbOfTxs and
    CtrlSum (group header and each PmtInf) equal the lines, amounts in EUR with at most 2
    decimals, and end-to-end ids unique.
    """
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise SepaValidationError(f"the pain.001 file is not well-formed XML: {exc}") from exc
    schema = pain001_schema()
    if not schema.validate(root):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
        raise SepaValidationError(f"the pain.001 file does not match the {PAIN001_SCHEMA} XSD: {errors}")
    _check_control_figures(root)


def _check_figures(where: str, node: etree._Element, amounts: list[Decimal]) -> None:
    count, ctrl_sum = node.findtext(_q("NbOfTxs")), node.findtext(_q("CtrlSum"))
    if count is not None and int(count) != len(amounts):
        raise SepaValidationError(f"{where} NbOfTxs is {count} but there are {len(amounts)} transfers")
    if ctrl_sum is not None and Decimal(ctrl_sum) != sum(amounts, Decimal(0)):
        raise SepaValidationError(
            f"{where} CtrlSum is {ctrl_sum} but the transfers add up to {sum(amounts, Decimal(0))}"
        )


def _check_control_figures(root: etree._Element) -> None:
    initiation = root.find(_q("CstmrCdtTrfInitn"))
    every_amount: list[Decimal] = []
    seen: set[str] = set()
    for number, info in enumerate(initiation.iterfind(_q("PmtInf")), start=1):
        amounts: list[Decimal] = []
        for tx in info.iterfind(_q("CdtTrfTxInf")):
            e2e = tx.findtext(_q("PmtId/EndToEndId"))
            if e2e in seen:
                raise SepaValidationError(f"EndToEndId {e2e} appears more than once")
            seen.add(e2e)
            amount = tx.find(_q("Amt/InstdAmt"))
            if amount is None or amount.get("Ccy") != "EUR":
                raise SepaValidationError(f"transfer {e2e} has no instructed amount in EUR")
            value = Decimal(amount.text)
            if value != value.quantize(_CENT):
                raise SepaValidationError(f"transfer {e2e} amount {value} has more than 2 decimals")
            amounts.append(value)
        _check_figures(f"PmtInf {number}", info, amounts)
        every_amount.extend(amounts)
    _check_figures("GrpHdr", initiation.find(_q("GrpHdr")), every_amount)
