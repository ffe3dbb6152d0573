"""The bank's answers to a payment batch, and a simulated bank that writes them.

`parse_bank_file` reads the two files a bank sends back after a pain.001 (SPEC §6), each in
two versions (`VERSIONS`), told apart by the namespace of the root element:

- pain.002 (CstmrPmtStsRpt), the payment status report, pain.002.001.03 or pain.002.001.12:
  per transaction ACCP, ACSC, ACSP, ACTC, ACWC... = "accepted"; RJCT = "rejected" with its
  reason code (AC01, AC04, AM05...); PDNG/RCVD = "pending" (no decision yet). The group
  status is kept on `BankFile` too, since a bank may reject a whole file without listing
  its transactions.
- camt.054 (BkToCstmrDbtCdtNtfctn), the debit notification, camt.054.001.02 or
  camt.054.001.08: a booked debit entry (Sts BOOK; Sts/Cd BOOK in .08) = "executed"; a
  booked credit that returns one of our transfers (TxDtls/RtrInf, or a reversal) =
  "rejected" with the return reason. Other credits are not ours and are skipped.

Before anything is read, the file is validated against the official ISO 20022 XSD of its
version, shipped in `reports/xsd/` (where each comes from: `reports/xsd/README.md`). Every
problem (empty or oversized file, XML that is not well-formed or has a DOCTYPE, another
document type or version, a schema error, a missing id or status) raises BankFileError
saying what is wrong and where. Parsing never resolves entities nor touches the network.

`make_pain002` and `make_camt054` write such files, in either version, for the demo and the
tests; what they write is validated against the same XSDs.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Literal

from lxml import etree

Kind = Literal["pain.002", "camt.054"]
PAIN002_VERSIONS = ("pain.002.001.03", "pain.002.001.12")
CAMT054_VERSIONS = ("camt.054.001.02", "camt.054.001.08")
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# namespace -> (kind, version): the bank files accepted, each with its official XSD.
VERSIONS: dict[str, tuple[Kind, str]] = {
    _NS_PREFIX + v: (v[:8], v) for v in PAIN002_VERSIONS + CAMT054_VERSIONS  # type: ignore[misc]
}
PAIN002_NS = _NS_PREFIX + PAIN002_VERSIONS[0]
CAMT054_NS = _NS_PREFIX + CAMT054_VERSIONS[0]
MAX_BANK_FILE_BYTES = 20 * 1024 * 1024

Status = Literal["accepted", "rejected", "executed", "pending"]
GroupStatus = Literal["accepted", "rejected", "partially_accepted", "pending"]

_TX_STATUS: dict[str, Status] = {
    "ACCP": "accepted", "ACSC": "accepted", "ACSP": "accepted", "ACTC": "accepted",
    "ACWC": "accepted", "ACCC": "accepted", "ACFC": "accepted", "ACWP": "accepted",
    "RJCT": "rejected", "PDNG": "pending", "RCVD": "pending",
}
_GROUP_STATUS: dict[str, GroupStatus] = {**_TX_STATUS, "PART": "partially_accepted"}  # type: ignore[dict-item]
_CODE_RE = re.compile(r"^[A-Z0-9]{4}$")
_local = threading.local()  # per-thread compiled XSDs

# ISO 20022 external status and return reason codes met in SEPA credit transfers.
REASON_TEXTS: dict[str, str] = {
    "AC01": "Incorrect account number",
    "AC04": "Closed account number",
    "AC06": "Blocked account",
    "AC13": "Invalid account type",
    "AG01": "Transaction forbidden on this account",
    "AG02": "Invalid bank operation code",
    "AM02": "Amount not allowed",
    "AM04": "Insufficient funds",
    "AM05": "Duplication",
    "AM09": "Wrong amount",
    "BE04": "Missing creditor address",
    "BE05": "Unrecognised initiating party",
    "CNOR": "Creditor bank is not registered",
    "CUST": "Requested by the customer",
    "DNOR": "Debtor bank is not registered",
    "DUPL": "Duplicate payment",
    "ED05": "Settlement failed",
    "FF01": "Invalid file format",
    "FOCR": "Return following a cancellation request",
    "MD07": "Account holder deceased",
    "MS02": "Reason not specified, by the customer",
    "MS03": "Reason not specified, by the bank",
    "RC01": "Bank identifier (BIC) incorrect",
    "RR01": "Missing debtor account or identification",
    "RR02": "Missing debtor name or address",
    "RR03": "Missing creditor name or address",
    "RR04": "Regulatory reason",
    "TM01": "Received after the cut-off time",
}


@dataclass(frozen=True)
class PaymentStatus:
    """The bank's word on one transfer, identified by its end-to-end id (the exchange id)."""

    end_to_end_id: str
    status: Status
    reason_code: str | None
    reason_text: str | None
    amount: Decimal | None


@dataclass(frozen=True)
class BankFile:
    """A parsed bank file. `message_id` is the file's own MsgId (refuse a second import)."""

    kind: Kind
    message_id: str
    original_msg_id: str | None
    statuses: tuple[PaymentStatus, ...]
    sha256: str
    version: str
    group_status: GroupStatus | None = None
    group_reason_code: str | None = None
    group_reason_text: str | None = None


class BankFileError(ValueError):
    """The bank file cannot be read; the message says what is wrong and where."""


def reason_text(code: str | None, additional: str | None = None) -> str | None:
    """A person's sentence for a reason code, with the bank's own words when it gave some."""
    known = REASON_TEXTS.get(code or "")
    if known and additional and additional.casefold() != known.casefold():
        return f"{known}: {additional}"
    return known or additional or (f"Reason code {code}" if code else None)


# --------------------------------------------------------------------------- the official XSDs


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False)


def schema_for(version: str) -> etree.XMLSchema:
    """The official XSD of `version` ("pain.002.001.03"...), shipped in reports/xsd, compiled once per thread."""
    cache: dict[str, etree.XMLSchema] = _local.__dict__.setdefault("schemas", {})
    schema = cache.get(version)
    if schema is None:
        xsd = resources.files("reports") / "xsd" / f"{version}.xsd"
        schema = cache[version] = etree.XMLSchema(etree.fromstring(xsd.read_bytes(), _xml_parser()))
    return schema


def _schema_error(version: str, root: etree._Element) -> str | None:
    """'line N: <first error>' when `root` does not match the XSD of `version`, else None."""
    schema = schema_for(version)
    if schema.validate(root):
        return None
    first = schema.error_log[0]
    message = re.sub(r"\{(?:urn|http)[^}]*\}", "", first.message)  # the namespace, the same everywhere
    return f"line {first.line}: {message.strip().rstrip('.')}"


def _version_of(root: etree._Element) -> tuple[Kind, str]:
    name = etree.QName(root)
    if name.localname == "Document" and name.namespace in VERSIONS:
        return VERSIONS[name.namespace]
    found = f"{name.localname} in namespace {name.namespace}" if name.namespace else name.localname
    raise BankFileError(
        f"unknown bank file type: the root element is {found}; expected a payment status report "
        f"({' or '.join(PAIN002_VERSIONS)}) or a debit notification ({' or '.join(CAMT054_VERSIONS)})"
    )


# --------------------------------------------------------------------------- parsing


def _q(ns: str, path: str) -> str:
    return "/".join(f"{{{ns}}}{step}" for step in path.split("/"))


def _parse(data: bytes) -> etree._Element:
    if not data or not data.strip():
        raise BankFileError("the bank file is empty")
    if len(data) > MAX_BANK_FILE_BYTES:
        raise BankFileError(f"the bank file has {len(data):,} bytes, more than a bank file may have "
                            f"({MAX_BANK_FILE_BYTES:,})")
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BankFileError(f"the bank file is not well-formed XML: {exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise BankFileError("the bank file declares a DOCTYPE, which bank files never do; refused")
    return root


def _required(node: etree._Element, ns: str, path: str, where: str) -> str:
    text = (node.findtext(_q(ns, path)) or "").strip()
    if not text:
        raise BankFileError(f"{where}/{path} is missing")
    return text


def _amount(node: etree._Element | None, where: str) -> Decimal | None:
    if node is None:
        return None
    try:
        value = Decimal((node.text or "").strip())
    except InvalidOperation:
        raise BankFileError(f"{where}: amount {node.text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BankFileError(f"{where}: amount {node.text!r} is not a valid amount")
    return value


def _reason(node: etree._Element, ns: str, info: str) -> tuple[str | None, str | None]:
    """(code, text) of the first reason block (StsRsnInf or RtrInf) under `node`."""
    block = node.find(_q(ns, info))
    if block is None:
        return None, None
    code = block.findtext(_q(ns, "Rsn/Cd")) or block.findtext(_q(ns, "Rsn/Prtry"))
    parts = (" ".join((e.text or "").split()) for e in block.iterfind(_q(ns, "AddtlInf")))
    extra = " ".join(p for p in parts if p) or None
    return code, reason_text(code, extra)


def _status_of(code: str, table: Mapping[str, str], where: str) -> str:
    if code not in table:
        raise BankFileError(f"{where}: unknown status code {code!r}")
    return table[code]


def parse_bank_file(data: bytes) -> BankFile:
    """Read a pain.002 status report or a camt.054 debit notification, in a version of `VERSIONS`.

    The file is checked against the official XSD of its version first; a file that does not
    match is refused with the first schema error and its line, before anything is read.
    """
    root = _parse(data)
    kind, version = _version_of(root)
    problem = _schema_error(version, root)
    if problem:
        raise BankFileError(f"the bank file does not match the official {version} XSD: {problem}")
    digest = hashlib.sha256(data).hexdigest()
    if kind == "pain.002":
        return _parse_pain002(root, version, digest)
    return _parse_camt054(root, version, digest)


def _parse_pain002(root: etree._Element, version: str, digest: str) -> BankFile:
    ns = _NS_PREFIX + version  # the paths read here are the same in .03 and .12
    report = root.find(_q(ns, "CstmrPmtStsRpt"))
    message_id = _required(report, ns, "GrpHdr/MsgId", "CstmrPmtStsRpt")
    group = report.find(_q(ns, "OrgnlGrpInfAndSts"))
    original = _required(group, ns, "OrgnlMsgId", "OrgnlGrpInfAndSts")
    group_code = (group.findtext(_q(ns, "GrpSts")) or "").strip() or None
    group_reason = _reason(group, ns, "StsRsnInf")
    payment_infos = report.findall(_q(ns, "OrgnlPmtInfAndSts"))
    if group_code is None:  # no group status: use the payment-level one if they all agree
        codes = {(p.findtext(_q(ns, "PmtInfSts")) or "").strip() for p in payment_infos}
        if len(codes) == 1 and "" not in codes:
            group_code = codes.pop()
            group_reason = _reason(payment_infos[0], ns, "StsRsnInf")
    statuses = [status for i, info in enumerate(payment_infos, start=1)
                for status in _pain002_transactions(info, ns, i, group_code, group_reason)]
    if group_code is None and not statuses:
        raise BankFileError("pain.002: the file states neither a group status nor any transaction status")
    group_status = _status_of(group_code, _GROUP_STATUS, "OrgnlGrpInfAndSts/GrpSts") if group_code else None
    return BankFile(
        kind="pain.002", message_id=message_id, original_msg_id=original,
        statuses=tuple(statuses), sha256=digest, version=version,
        group_status=group_status,  # type: ignore[arg-type]
        group_reason_code=group_reason[0], group_reason_text=group_reason[1],
    )


def _pain002_transactions(info: etree._Element, ns: str, i: int, group_code: str | None,
                          group_reason: tuple[str | None, str | None]) -> list[PaymentStatus]:
    info_code = (info.findtext(_q(ns, "PmtInfSts")) or "").strip() or None
    info_reason = _reason(info, ns, "StsRsnInf")
    found: list[PaymentStatus] = []
    for j, tx in enumerate(info.iterfind(_q(ns, "TxInfAndSts")), start=1):
        where = f"OrgnlPmtInfAndSts[{i}]/TxInfAndSts[{j}]"
        e2e = _required(tx, ns, "OrgnlEndToEndId", where)
        code = (tx.findtext(_q(ns, "TxSts")) or "").strip() or info_code or group_code
        if code is None:
            raise BankFileError(f"{where}: no TxSts for {e2e}, nor a payment or group status")
        status = _status_of(code, _TX_STATUS, f"{where}/TxSts")
        reason_code, text = _reason(tx, ns, "StsRsnInf")
        if status == "rejected" and reason_code is None and text is None:
            reason_code, text = info_reason if info_reason != (None, None) else group_reason
        amount = _amount(tx.find(_q(ns, "OrgnlTxRef/Amt/InstdAmt")), where)
        found.append(PaymentStatus(e2e, status, reason_code, text, amount))  # type: ignore[arg-type]
    return found


def _parse_camt054(root: etree._Element, version: str, digest: str) -> BankFile:
    ns = _NS_PREFIX + version
    body = root.find(_q(ns, "BkToCstmrDbtCdtNtfctn"))
    message_id = _required(body, ns, "GrpHdr/MsgId", "BkToCstmrDbtCdtNtfctn")
    statuses: list[PaymentStatus] = []
    originals: set[str] = set()
    for i, notification in enumerate(body.iterfind(_q(ns, "Ntfctn")), start=1):
        for j, entry in enumerate(notification.iterfind(_q(ns, "Ntry")), start=1):
            statuses.extend(_camt_entry(entry, ns, f"Ntfctn[{i}]/Ntry[{j}]", originals))
    return BankFile(
        kind="camt.054", message_id=message_id,
        original_msg_id=originals.pop() if len(originals) == 1 else None,
        statuses=tuple(statuses), sha256=digest, version=version,
    )


def _booking_status(entry: etree._Element, ns: str, where: str) -> str:
    """Ntry/Sts: a code in camt.054.001.02, a choice of Cd or Prtry from camt.054.001.08 on."""
    status = entry.find(_q(ns, "Sts"))
    if status is not None and len(status):
        return _required(status, ns, "Cd", f"{where}/Sts") if status.find(_q(ns, "Cd")) is not None \
            else _required(status, ns, "Prtry", f"{where}/Sts")
    return _required(entry, ns, "Sts", where)


def _tx_amount(tx: etree._Element, ns: str, where: str) -> Decimal | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"):  # TxDtls/Amt exists from .08 on
        node = tx.find(_q(ns, path))
        if node is not None:
            return _amount(node, where)
    return None


def _camt_entry(entry: etree._Element, ns: str, where: str, originals: set[str]) -> list[PaymentStatus]:
    direction = _required(entry, ns, "CdtDbtInd", where)
    booking = _booking_status(entry, ns, where)
    reversal = (entry.findtext(_q(ns, "RvslInd")) or "").strip() == "true"
    entry_amount = _amount(entry.find(_q(ns, "Amt")), f"{where}/Amt")
    details = entry.findall(_q(ns, "NtryDtls/TxDtls"))
    found: list[PaymentStatus] = []
    for k, tx in enumerate(details, start=1):
        tx_where = f"{where}/NtryDtls/TxDtls[{k}]"
        returned = tx.find(_q(ns, "RtrInf")) is not None or (reversal and direction == "CRDT")
        if direction == "CRDT" and not returned:
            continue  # money coming in that does not answer one of our transfers
        e2e = (tx.findtext(_q(ns, "Refs/EndToEndId")) or "").strip()
        if not e2e or e2e == "NOTPROVIDED":
            raise BankFileError(f"{tx_where}/Refs/EndToEndId is missing")
        original = (tx.findtext(_q(ns, "Refs/MsgId")) or "").strip()
        if original:
            originals.add(original)
        amount = _tx_amount(tx, ns, tx_where)
        if amount is None and len(details) == 1:
            amount = entry_amount
        if booking != "BOOK":
            if booking == "PDNG":
                found.append(PaymentStatus(e2e, "pending", None, None, amount))
            continue  # INFO entries announce nothing final
        if returned:
            code, text = _reason(tx, ns, "RtrInf")
            found.append(PaymentStatus(e2e, "rejected", code, text or "Returned by the bank", amount))
        else:
            found.append(PaymentStatus(e2e, "executed", None, None, amount))
    return found


# --------------------------------------------------------------------------- simulated bank


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None,
        **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def _serialise(root: etree._Element, version: str) -> bytes:
    """The document as bytes, after checking it against the official XSD of `version`."""
    problem = _schema_error(version, root)
    if problem:  # a bug in the simulated bank, not bad input: the arguments were checked
        raise ValueError(f"the simulated {version} file does not match its XSD: {problem}")
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)  # lxml has no type information
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _timestamp(created_at: datetime) -> str:
    return created_at.replace(microsecond=0).isoformat()


def _check_id(field: str, value: str) -> None:
    if not value or len(value) > 35:
        raise ValueError(f"{field} must be 1 to 35 characters, not {value!r}")


def _check_code(field: str, code: str | None) -> None:
    if code is not None and not _CODE_RE.match(code):
        raise ValueError(f"{field} must be an ISO 20022 reason code of 4 letters or digits, not {code!r}")


def _check_version(version: str, accepted: Sequence[str]) -> str:
    if version not in accepted:
        raise ValueError(f"version must be one of {', '.join(accepted)}, not {version!r}")
    return _NS_PREFIX + version


def make_pain002(original_msg_id: str, answers: Mapping[str, str | None], message_id: str,
                 created_at: datetime, original_pmt_inf_id: str | None = None,
                 version: str = PAIN002_VERSIONS[0]) -> bytes:
    """A pain.002 status report (`version` pain.002.001.03 or .12) answering the pain.001 `original_msg_id`.

    `answers` maps each end-to-end id to None (accepted, ACCP) or a reason code (rejected,
    RJCT, e.g. "AC01"). The group status is ACCP, RJCT or PART accordingly.
    """
    ns = _check_version(version, PAIN002_VERSIONS)
    _check_id("original_msg_id", original_msg_id)
    _check_id("message_id", message_id)
    if not answers:
        raise ValueError("answers: a status report needs at least one transaction")
    for e2e, code in answers.items():
        _check_id("end_to_end_id", e2e)
        _check_code(f"answers[{e2e!r}]", code)
    rejected = sum(1 for code in answers.values() if code is not None)
    group_code = "ACCP" if rejected == 0 else "RJCT" if rejected == len(answers) else "PART"
    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    report = _el(root, ns, "CstmrPmtStsRpt")
    header = _el(report, ns, "GrpHdr")
    _el(header, ns, "MsgId", message_id)
    _el(header, ns, "CreDtTm", _timestamp(created_at))
    group = _el(report, ns, "OrgnlGrpInfAndSts")
    _el(group, ns, "OrgnlMsgId", original_msg_id)
    _el(group, ns, "OrgnlMsgNmId", "pain.001.001.03")
    _el(group, ns, "OrgnlNbOfTxs", str(len(answers)))
    _el(group, ns, "GrpSts", group_code)
    info = _el(report, ns, "OrgnlPmtInfAndSts")
    _el(info, ns, "OrgnlPmtInfId", original_pmt_inf_id or original_msg_id)
    _el(info, ns, "PmtInfSts", group_code)
    for e2e, code in answers.items():
        tx = _el(info, ns, "TxInfAndSts")
        _el(tx, ns, "OrgnlEndToEndId", e2e)
        _el(tx, ns, "TxSts", "ACCP" if code is None else "RJCT")
        if code is not None:
            reason = _el(tx, ns, "StsRsnInf")
            _el(_el(reason, ns, "Rsn"), ns, "Cd", code)
            if code in REASON_TEXTS:
                _el(reason, ns, "AddtlInf", REASON_TEXTS[code])
    return _serialise(root, version)


def make_camt054(entries: Sequence[tuple[str, Decimal]], message_id: str, created_at: datetime,
                 account_iban: str, original_msg_id: str | None = None,
                 returns: Sequence[tuple[str, Decimal, str]] = (),
                 version: str = CAMT054_VERSIONS[0]) -> bytes:
    """A camt.054 notification (`version` camt.054.001.02 or .08) of booked debits on `account_iban`.

    `entries` are (end-to-end id, amount) of executed transfers, booked on `created_at`'s
    date; `returns` are (end-to-end id, amount, reason code) of transfers that came back
    (booked credits with RtrInf). `original_msg_id` goes into Refs/MsgId when given.
    """
    ns = _check_version(version, CAMT054_VERSIONS)
    _check_id("message_id", message_id)
    if original_msg_id is not None:
        _check_id("original_msg_id", original_msg_id)
    if not entries and not returns:
        raise ValueError("entries: a notification needs at least one entry")
    lines = [(e2e, amount, None) for e2e, amount in entries] + list(returns)
    for e2e, amount, code in lines:
        _check_id("end_to_end_id", e2e)
        _check_code(f"returns[{e2e!r}]", code)
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValueError(f"the amount of {e2e} must be a positive Decimal, not {amount!r}")
    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    body = _el(root, ns, "BkToCstmrDbtCdtNtfctn")
    header = _el(body, ns, "GrpHdr")
    _el(header, ns, "MsgId", message_id)
    _el(header, ns, "CreDtTm", _timestamp(created_at))
    notification = _el(body, ns, "Ntfctn")
    _el(notification, ns, "Id", message_id)
    _el(notification, ns, "CreDtTm", _timestamp(created_at))
    _el(_el(_el(notification, ns, "Acct"), ns, "Id"), ns, "IBAN", "".join(account_iban.split()))
    for e2e, amount, code in lines:
        _camt_entry_xml(notification, ns, e2e, amount, code, created_at, original_msg_id)
    return _serialise(root, version)


def _camt_entry_xml(parent: etree._Element, ns: str, e2e: str, amount: Decimal, return_code: str | None,
                    created_at: datetime, original_msg_id: str | None) -> None:
    v08 = not ns.endswith(CAMT054_VERSIONS[0])  # .08 puts the status code in Sts/Cd, adds TxDtls/Amt
    money = f"{amount:.2f}"
    entry = _el(parent, ns, "Ntry")
    _el(entry, ns, "Amt", money, Ccy="EUR")
    _el(entry, ns, "CdtDbtInd", "DBIT" if return_code is None else "CRDT")
    _el(_el(entry, ns, "Sts"), ns, "Cd", "BOOK") if v08 else _el(entry, ns, "Sts", "BOOK")
    _el(_el(entry, ns, "BookgDt"), ns, "Dt", created_at.date().isoformat())
    _el(_el(entry, ns, "ValDt"), ns, "Dt", created_at.date().isoformat())
    domain = _el(_el(entry, ns, "BkTxCd"), ns, "Domn")
    _el(domain, ns, "Cd", "PMNT")
    family = _el(domain, ns, "Fmly")
    _el(family, ns, "Cd", "ICDT")
    _el(family, ns, "SubFmlyCd", "ESCT" if return_code is None else "RRTN")
    tx = _el(_el(entry, ns, "NtryDtls"), ns, "TxDtls")
    refs = _el(tx, ns, "Refs")
    if original_msg_id:
        _el(refs, ns, "MsgId", original_msg_id)
    _el(refs, ns, "EndToEndId", e2e)
    if v08:
        _el(tx, ns, "Amt", money, Ccy="EUR")
        _el(tx, ns, "CdtDbtInd", "DBIT" if return_code is None else "CRDT")
    else:
        _el(_el(_el(tx, ns, "AmtDtls"), ns, "TxAmt"), ns, "Amt", money, Ccy="EUR")
    if return_code is not None:
        info = _el(tx, ns, "RtrInf")
        _el(_el(info, ns, "Rsn"), ns, "Cd", return_code)
        if return_code in REASON_TEXTS:
            _el(info, ns, "AddtlInf", REASON_TEXTS[return_code])
