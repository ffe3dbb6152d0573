"""pain.001.001.03 credit transfer files: validity, control figures, determinism, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from reports.sepa import (
    PAIN001_NS,
    CreditTransfer,
    Debtor,
    InvalidTransfersError,
    SepaValidationError,
    build_pain001,
    is_business_day,
    next_business_day,
    to_sepa_charset,
    validate_creditor,
    validate_pain001,
)

NS = {"p": PAIN001_NS}
DEBTOR = Debtor("ClusterXchange Programme", "DE89370400440532013000", "COBADEFFXXX")
CREATED = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
MONDAY = date(2025, 3, 3)
VALID_IBANS = {
    "DE89370400440532013000": "COBADEFFXXX",
    "FR1420041010050500013M02606": None,
    "BE68539007547034": "GEBABEBB",
    "NL91ABNA0417164300": "ABNANL2A",
    "AT611904300234573201": None,
    "IT60X0542811101000000123456": None,
    "ES9121000418450200051332": None,
}


def transfer(n: int, amount: str = "366.67", *, name: str = "Cluster Partner",
             iban: str = "FR1420041010050500013M02606", bic: str | None = None,
             remittance: str | None = None) -> CreditTransfer:
    return CreditTransfer(f"EX-{n:06d}", name, iban, bic, Decimal(amount),
                          remittance if remittance is not None else f"ClusterXchange grant EX-{n:06d}")


def several() -> list[CreditTransfer]:
    return [transfer(i, iban=iban, bic=bic, name=f"Partner {i}")
            for i, (iban, bic) in enumerate(VALID_IBANS.items(), start=1)]


def build(transfers: list[CreditTransfer], **overrides: object) -> bytes:
    arguments: dict[str, object] = dict(debtor=DEBTOR, transfers=transfers, msg_id="CXP-PB-2025-W10",
                                        pmt_inf_id="CXP-PB-2025-W10-1", execution_date=MONDAY,
                                        created_at=CREATED)
    arguments.update(overrides)
    return build_pain001(**arguments)  # type: ignore[arg-type]


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


# --------------------------------------------------------------------------- the file


def test_the_file_is_valid_against_the_official_xsd() -> None:
    xml = build(several())
    validate_pain001(xml)  # raises if not
    schema = etree.XMLSchema(etree.parse(_sepaxml_xsd()))
    assert schema.validate(parse(xml)), schema.error_log


def _sepaxml_xsd() -> str:
    from importlib import resources

    return str(resources.files("sepaxml").joinpath("schemas", "pain.001.001.03.xsd"))


def test_control_figures_equal_the_lines_in_the_header_and_the_payment_block() -> None:
    root = parse(build(several()))
    amounts = [Decimal(a) for a in root.xpath("//p:CdtTrfTxInf/p:Amt/p:InstdAmt/text()", namespaces=NS)]
    assert len(amounts) == 7
    for block in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
        assert root.findtext(f"{block}/p:NbOfTxs", namespaces=NS) == "7"
        assert Decimal(root.findtext(f"{block}/p:CtrlSum", namespaces=NS)) == sum(amounts)


def test_decimal_sums_are_exact() -> None:
    root = parse(build([transfer(1), transfer(2), transfer(3)]))
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1100.01"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum", namespaces=NS) == "1100.01"


def test_amounts_are_written_with_two_decimals() -> None:
    root = parse(build([transfer(1, "100"), transfer(2, "0.5")]))
    assert root.xpath("//p:InstdAmt/text()", namespaces=NS) == ["100.00", "0.50"]
    assert root.xpath("//p:InstdAmt/@Ccy", namespaces=NS) == ["EUR", "EUR"]


def test_ids_dates_and_end_to_end_ids_come_from_the_caller() -> None:
    root = parse(build(several()))
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "CXP-PB-2025-W10"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", namespaces=NS) == "2025-03-03T06:00:00+00:00"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId", namespaces=NS) == "CXP-PB-2025-W10-1"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:ReqdExctnDt", namespaces=NS) == "2025-03-03"
    assert root.xpath("//p:EndToEndId/text()", namespaces=NS) == [f"EX-{i:06d}" for i in range(1, 8)]


def test_same_inputs_give_byte_identical_files_whatever_the_order_of_the_lines() -> None:
    lines = several()
    first = build(lines)
    assert build(lines) == first
    assert build(list(reversed(lines))) == first


def test_a_different_message_id_gives_a_different_file() -> None:
    assert build(several()) != build(several(), msg_id="CXP-PB-2025-W11")


def test_debtor_without_bic_is_written_as_not_provided() -> None:
    root = parse(build(several(), debtor=Debtor("ClusterXchange", "BE68539007547034", None)))
    assert root.findtext(".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"


def test_names_and_remittance_are_transliterated_and_truncated() -> None:
    long_text = "Zürich Ørsted " + "x" * 300
    root = parse(build([transfer(1, name="Łódź Straße Ñandú " + "y" * 100, remittance=long_text)]))
    name = root.findtext(".//p:Cdtr/p:Nm", namespaces=NS)
    remittance = root.findtext(".//p:RmtInf/p:Ustrd", namespaces=NS)
    assert name.startswith("Lodz Strasse Nandu y") and len(name) == 70
    assert remittance.startswith("Zurich Orsted xxx") and len(remittance) == 140


def test_an_empty_remittance_falls_back_to_the_end_to_end_id() -> None:
    root = parse(build([transfer(1, remittance="   ")]))
    assert root.findtext(".//p:RmtInf/p:Ustrd", namespaces=NS) == "EX-000001"


# --------------------------------------------------------------------------- refused input


def test_execution_date_on_a_weekend_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"execution_date 2025-03-01 .*Saturday.*2025-03-03"):
        build(several(), execution_date=date(2025, 3, 1))


def test_execution_date_on_a_target_holiday_is_refused() -> None:
    with pytest.raises(ValueError, match="execution_date 2025-04-18 .*Good Friday"):
        build(several(), execution_date=date(2025, 4, 18), created_at=datetime(2025, 4, 1))


def test_execution_date_before_the_creation_date_is_refused() -> None:
    with pytest.raises(ValueError, match="execution_date 2025-02-28 is before"):
        build(several(), execution_date=date(2025, 2, 28))


@pytest.mark.parametrize("field", ["msg_id", "pmt_inf_id"])
@pytest.mark.parametrize("value", ["", "x" * 36, "has space", "/leading", "a//b", "Zürich"])
def test_bad_message_ids_are_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        build(several(), **{field: value})


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="transfers: a payment batch needs at least one"):
        build([])


def test_a_duplicate_end_to_end_id_is_refused() -> None:
    with pytest.raises(ValueError, match="EX-000001 appears twice"):
        build([transfer(1), transfer(1, "10.00")])


def test_bad_bank_details_are_all_reported_with_their_lines() -> None:
    bad = [transfer(1), transfer(2, iban="DE89370400440532013001"), transfer(3, "12.345")]
    with pytest.raises(InvalidTransfersError) as caught:
        build(bad)
    assert [(p.end_to_end_id, p.field) for p in caught.value.problems] == [
        ("EX-000002", "iban"), ("EX-000003", "amount")]


def test_bad_debtor_details_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="debtor.iban"):
        build(several(), debtor=Debtor("Programme", "DE00370400440532013000", None))
    with pytest.raises(ValueError, match="debtor.bic"):
        build(several(), debtor=Debtor("Programme", "DE89370400440532013000", "GEBABEBB"))


# --------------------------------------------------------------------------- validate_pain001


def test_validate_refuses_a_file_whose_control_sum_does_not_match() -> None:
    xml = build(several()).replace(b"<CtrlSum>2566.69</CtrlSum>", b"<CtrlSum>2566.70</CtrlSum>", 1)
    with pytest.raises(SepaValidationError, match="GrpHdr CtrlSum is 2566.70"):
        validate_pain001(xml)


def test_validate_refuses_a_file_whose_count_does_not_match() -> None:
    xml = build(several()).replace(b"<NbOfTxs>7</NbOfTxs>", b"<NbOfTxs>8</NbOfTxs>")
    with pytest.raises(SepaValidationError, match="NbOfTxs is 8 but there are 7"):
        validate_pain001(xml)


def test_validate_reports_the_xsd_error() -> None:
    xml = build(several()).replace(b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>NOPE</ChrgBr>")
    with pytest.raises(SepaValidationError, match=r"pain.001.001.03 XSD: line \d+: .*ChrgBr"):
        validate_pain001(xml)


def test_validate_refuses_xml_that_is_not_well_formed() -> None:
    with pytest.raises(SepaValidationError, match="not well-formed"):
        validate_pain001(b"<Document>")


# --------------------------------------------------------------------------- creditor checks


@pytest.mark.parametrize("iban", list(VALID_IBANS))
def test_valid_sepa_ibans_pass(iban: str) -> None:
    assert validate_creditor(transfer(1, iban=iban, bic=VALID_IBANS[iban])) == []


def test_an_iban_with_a_wrong_checksum_is_a_problem_of_the_iban() -> None:
    [problem] = validate_creditor(transfer(1, iban="DE89370400440532013001"))
    assert (problem.end_to_end_id, problem.field) == ("EX-000001", "iban")
    assert "check digits" in problem.message


def test_an_iban_from_outside_sepa_is_a_problem_of_the_iban() -> None:
    [problem] = validate_creditor(transfer(1, iban="BR1800360305000010009795493C1"))
    assert problem.field == "iban" and "outside the SEPA zone" in problem.message


@pytest.mark.parametrize("bic", ["XX12", "ABCDXX12", "COBADEF", "COBADE1FXXX"])
def test_a_bic_in_an_unknown_format_is_a_problem_of_the_bic(bic: str) -> None:
    [problem] = validate_creditor(transfer(1, iban="DE89370400440532013000", bic=bic))
    assert problem.field == "bic" and bic in problem.message


def test_a_bic_from_another_country_than_the_iban_is_a_problem_of_the_bic() -> None:
    [problem] = validate_creditor(transfer(1, iban="DE89370400440532013000", bic="BNPAFRPP"))
    assert problem.field == "bic" and "FR" in problem.message and "DE" in problem.message


def test_a_bic_is_required_outside_the_eea() -> None:
    [problem] = validate_creditor(transfer(1, iban="CH9300762011623852957"))
    assert problem.field == "bic" and "CH" in problem.message
    assert validate_creditor(transfer(1, iban="CH9300762011623852957", bic="UBSWCHZH80A")) == []


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.001", "1000000000.00", "NaN"])
def test_bad_amounts_are_a_problem_of_the_amount(amount: str) -> None:
    [problem] = validate_creditor(transfer(1, amount))
    assert problem.field == "amount"


def test_a_float_amount_is_refused() -> None:
    t = CreditTransfer("EX-1", "Name", "DE89370400440532013000", None, 366.67, "r")  # type: ignore[arg-type]
    assert [p.field for p in validate_creditor(t)] == ["amount"]


def test_a_name_without_any_latin_character_is_transliterated_not_refused() -> None:
    assert validate_creditor(transfer(1, name="北京")) == []
    assert to_sepa_charset("北京", 70) == "BeiJing"


def test_spaces_and_lower_case_in_an_iban_are_accepted() -> None:
    assert validate_creditor(transfer(1, iban="de89 3704 0044 0532 0130 00")) == []


# --------------------------------------------------------------------------- text and calendar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zürich Ørsted Łódź Ñ", "Zurich Orsted Lodz N"),
        ("Straße Æsir Œuvre Þórr Đorđe", "Strasse Aesir Oeuvre Thorr Dorde"),
        ("Müller & Söhne_GmbH", "Muller + Sohne-GmbH"),
        ("“Quoted” — dash", "'Quoted' - dash"),
        ("tab\tand\nnewline  spaces", "tab and newline spaces"),
        ("Ελληνικά", "Ellinika"),
        ("Σύμπλεγμα Καινοτομίας Αθηνών", "Symplegma Kainotomias Athinon"),
        ("Кластер ІТ Львова", "Klaster IT L'vova"),
        ("Кластер Нови Сад", "Klaster Novi Sad"),
        ("Ђорђе Јовановић", "Djordje Jovanovic"),
        ("България ООД", "B'lgariya OOD"),
        ("Þekkingarsetur Íslands", "Thekkingarsetur Islands"),
        ("Guðrún Þórðardóttir", "Gudrun Thordardottir"),
        ("İstanbul Teknoloji Kümesi ığdır Şişli", "Istanbul Teknoloji Kumesi igdir Sisli"),
        ("Kraków 😀 ©\u200b", "Krakow"),
        ("ЬЪ", "''"),
        ("a*b=c@d", "a b c d"),
    ],
)
def test_to_sepa_charset_transliterates(text: str, expected: str) -> None:
    assert to_sepa_charset(text, 140) == expected


def test_to_sepa_charset_truncates_and_does_not_end_with_a_space() -> None:
    assert to_sepa_charset("abc def", 4) == "abc"
    assert len(to_sepa_charset("é" * 500, 140)) == 140


def test_next_business_day_skips_weekends_and_target_holidays() -> None:
    assert next_business_day(date(2025, 3, 3)) == date(2025, 3, 3)  # a Monday is kept
    assert next_business_day(date(2025, 3, 1)) == date(2025, 3, 3)  # Saturday
    assert next_business_day(date(2025, 4, 18)) == date(2025, 4, 22)  # Good Friday, Easter Monday
    assert next_business_day(date(2025, 12, 25)) == date(2025, 12, 29)  # 25, 26 Dec, weekend
    assert next_business_day(date(2026, 1, 1)) == date(2026, 1, 2)
    assert next_business_day(date(2026, 5, 1)) == date(2026, 5, 4)  # Labour Day is a Friday


def test_only_target_closing_days_are_holidays() -> None:
    assert is_business_day(date(2025, 10, 3))  # German Unity Day: TARGET2 is open
    assert is_business_day(date(2025, 7, 14))  # Bastille Day: TARGET2 is open
    assert not is_business_day(date(2025, 5, 1))


# --------------------------------------------------------------------------- properties

SEPA_SET = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


@given(st.text(), st.integers(min_value=1, max_value=140))
def test_to_sepa_charset_only_ever_writes_sepa_characters(text: str, max_len: int) -> None:
    result = to_sepa_charset(text, max_len)
    assert set(result) <= SEPA_SET
    assert len(result) <= max_len
    assert result == result.strip() and "  " not in result


# Letters of the scripts of the programme's eligible countries: Latin with every diacritic (Basic,
# Latin-1, Extended-A/B and Additional), Greek (with polytonic) and Cyrillic (with its supplement).
ELIGIBLE_LETTERS = st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo"), codec=None).filter(
    lambda c: any(a <= ord(c) <= b for a, b in ((0x41, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x1E00, 0x1FFF))))


@given(st.text(min_size=0, max_size=20), ELIGIBLE_LETTERS, st.text(max_size=20),
       st.integers(min_value=1, max_value=140))
def test_any_text_with_a_letter_of_an_eligible_script_is_never_written_empty(
        before: str, letter: str, after: str, max_len: int) -> None:
    result = to_sepa_charset(before + letter + after, max_len)
    assert result and set(result) <= SEPA_SET


@given(st.text(ELIGIBLE_LETTERS, min_size=1, max_size=30))
def test_a_word_of_eligible_letters_keeps_its_length_order_of_magnitude(word: str) -> None:
    result = to_sepa_charset(word, 140)
    assert set(result) <= SEPA_SET and 1 <= len(result) <= 4 * len(word)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
                min_size=1, max_size=20))
def test_control_sum_is_the_exact_sum_of_any_amounts(amounts: list[Decimal]) -> None:
    root = parse(build([transfer(i, str(a)) for i, a in enumerate(amounts, start=1)]))
    assert Decimal(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS)) == sum(amounts)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == str(len(amounts))


# --------------------------------------------------------------------------- names in any script

REAL_NAMES = {
    "Σύμπλεγμα Καινοτομίας Αθηνών": "Symplegma Kainotomias Athinon",
    "Кластер ІТ Львова": "Klaster IT L'vova",
    "Кластер Нови Сад": "Klaster Novi Sad",
    "Þekkingarsetur Íslands": "Thekkingarsetur Islands",
    "İstanbul Teknoloji Kümesi": "Istanbul Teknoloji Kumesi",
    "Клъстер Пловдив ЕООД": "Kl'ster Plovdiv EOOD",
    "Łódzki Klaster Współpracy": "Lodzki Klaster Wspolpracy",
}


def test_names_and_remittances_in_every_eligible_script_go_into_a_schema_valid_file() -> None:
    transfers = [transfer(i, name=name, remittance=f"Грант {i} — Ανταλλαγή {name}")
                 for i, name in enumerate(REAL_NAMES, start=1)]
    debtor = Debtor("Πρόγραμμα ClusterXchange Αθήνα", "DE89370400440532013000", "COBADEFFXXX")
    xml = build(transfers, debtor=debtor)
    validate_pain001(xml)
    root = parse(xml)
    names = root.xpath("//p:CdtTrfTxInf/p:Cdtr/p:Nm/text()", namespaces=NS)
    assert names == list(REAL_NAMES.values())
    assert root.xpath("//p:Dbtr/p:Nm/text()", namespaces=NS) == ["Programma ClusterXchange Athina"]
    remittances = root.xpath("//p:RmtInf/p:Ustrd/text()", namespaces=NS)
    assert remittances[0] == "Grant 1 - Antallagi Symplegma Kainotomias Athinon"
    assert all(set(text) <= SEPA_SET for text in names + remittances)
    schema = etree.XMLSchema(etree.parse(_sepaxml_xsd()))
    assert schema.validate(root), schema.error_log


@pytest.mark.parametrize("name", ["ЬЪ", "😀😀", "---", "  ", ""])
def test_a_name_that_transliterates_to_nothing_usable_is_refused_with_the_reason(name: str) -> None:
    problems = validate_creditor(transfer(1, name=name))
    assert [p.field for p in problems] == ["creditor_name"]
    expected = "is missing" if not name.strip() else "has no letter or digit once written in SEPA characters"
    assert expected in problems[0].message
    with pytest.raises(InvalidTransfersError, match="EX-000001 creditor_name"):
        build([transfer(1, name=name), transfer(2)])


def test_a_debtor_name_that_transliterates_to_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="debtor.name: the name 'ЪЪ' has no letter or digit"):
        build([transfer(1)], debtor=Debtor("ЪЪ", "DE89370400440532013000", "COBADEFFXXX"))


def test_a_remittance_with_nothing_usable_falls_back_to_the_exchange_id() -> None:
    root = parse(build([transfer(1, remittance="😀 ЪЪ")]))
    assert root.xpath("//p:RmtInf/p:Ustrd/text()", namespaces=NS) == ["EX-000001"]


def test_already_sepa_text_takes_the_fast_path_unchanged() -> None:
    text = "ClusterXchange grant EX-000123 call CXP-2027 (visit) 2027-03-01 to 2027-03-05"
    assert to_sepa_charset(text, 140) == text
