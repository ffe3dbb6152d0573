"""`cxp rules working-days` and `cxp rules grant`, run as a person would run them (SPEC §10)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def cxp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", "rules", *args],
                          capture_output=True, text=True, timeout=60)


def test_working_days_json_lists_counted_and_excluded_dates_for_a_host_in_bavaria():
    run = cxp("working-days", "--country", "DE", "--subdivision", "BY",
              "--arrive", "2026-01-02", "--depart", "2026-01-09", "--json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["working_days"] == 3
    assert document["counted"] == ["2026-01-05", "2026-01-07", "2026-01-08"]
    assert document["excluded"] == {"2026-01-02": "travel_day", "2026-01-03": "weekend",
                                    "2026-01-04": "weekend", "2026-01-06": "holiday:Epiphany",
                                    "2026-01-09": "travel_day"}


def test_working_days_takes_the_attended_days_the_host_certified():
    run = cxp("working-days", "--country", "FR", "--arrive", "2026-03-02", "--depart", "2026-03-06",
              "--attended", "2026-03-03,2026-03-05", "--json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["counted"] == ["2026-03-03", "2026-03-05"]
    assert document["excluded"]["2026-03-04"] == "not_attended"


def test_working_days_prints_a_readable_table_without_json():
    run = cxp("working-days", "--country", "EL", "--arrive", "2026-03-23", "--depart", "2026-03-27")
    assert run.returncode == 0, run.stderr
    assert "2026-03-25" in run.stdout and "holiday:" in run.stdout
    assert "Working days: 2" in run.stdout


def test_grant_json_has_the_amount_as_a_string_the_reasons_and_the_rule_set():
    run = cxp("grant", "--host-country", "FR", "--working-days", "4", "--distance-km", "800", "--json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["amount_eur"] == "550.00"
    assert document["reasons"] == ["HALVED_FEW_DAYS"]
    assert document["rule_set"] == "2026.1"
    assert document["inputs"]["threshold"] == "1100.00"


def test_grant_at_exactly_200_km_and_five_days_pays_the_full_rate():
    run = cxp("grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "200", "--json")
    assert json.loads(run.stdout)["amount_eur"] == "950.00"
    run = cxp("grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "199.9", "--json")
    assert json.loads(run.stdout)["reasons"] == ["HALVED_SHORT_DISTANCE"]


def test_grant_can_be_computed_under_an_earlier_rule_set():
    run = cxp("grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "800",
              "--rule-set", "2025.1", "--json")
    document = json.loads(run.stdout)
    assert (document["amount_eur"], document["rule_set"]) == ("900.00", "2025.1")


def test_grant_prints_the_amount_and_its_reasons_for_a_person():
    run = cxp("grant", "--host-country", "PL", "--working-days", "2", "--distance-km", "500")
    assert run.returncode == 0, run.stderr
    assert "EUR 0.00" in run.stdout and "BELOW_MIN_WORKING_DAYS" in run.stdout


@pytest.mark.parametrize("args, option, words", [
    (["working-days", "--country", "DE", "--arrive", "2026-03-06", "--depart", "2026-03-02"],
     "--depart", "before"),
    (["working-days", "--country", "DE", "--arrive", "2026-02-30", "--depart", "2026-03-02"],
     "--arrive", "not a date"),
    (["working-days", "--country", "DE", "--arrive", "06/03/2026", "--depart", "2026-03-09"],
     "--arrive", "YYYY-MM-DD"),
    (["working-days", "--country", "US", "--arrive", "2026-03-02", "--depart", "2026-03-06"],
     "--country", "not an eligible"),
    (["working-days", "--country", "ZZZ", "--arrive", "2026-03-02", "--depart", "2026-03-06"],
     "--country", "country code"),
    (["working-days", "--country", "DE", "--subdivision", "XX", "--arrive", "2026-03-02",
      "--depart", "2026-03-06"], "--subdivision", "not a subdivision"),
    (["working-days", "--country", "DE", "--arrive", "2026-03-02", "--depart", "2026-03-06",
      "--attended", "2026-04-01"], "--attended", "outside the stay"),
    (["grant", "--host-country", "DE", "--working-days", "-1", "--distance-km", "300"],
     "--working-days", "negative"),
    (["grant", "--host-country", "DE", "--working-days", "three", "--distance-km", "300"],
     "--working-days", "whole number"),
    (["grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "-0.5"],
     "--distance-km", "negative"),
    (["grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "far"],
     "--distance-km", "not a number"),
    (["grant", "--host-country", "CH", "--working-days", "5", "--distance-km", "300"],
     "--host-country", "not an eligible"),
    (["grant", "--host-country", "DE", "--working-days", "5", "--distance-km", "300", "--rule-set", "1999"],
     "--rule-set", "unknown rule set"),
])
def test_bad_input_gives_one_clear_line_naming_the_option_and_a_non_zero_exit(args, option, words):
    run = cxp(*args)
    assert run.returncode != 0
    assert run.stdout == ""
    assert option in run.stderr and words in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
