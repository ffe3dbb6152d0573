"""The time-to-pay KPI counts days in integers from DuckDB's microseconds: the same text, to the cent of
a day, as the exact decimal division it replaces (rounded half to even)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from reports.kpi import _days_us


@given(st.integers(min_value=0, max_value=10**15))
def test_days_from_microseconds_equal_the_exact_decimal_division(microseconds: int) -> None:
    assert _days_us(microseconds) == f"{Decimal(microseconds) / Decimal(86_400_000_000):.2f}"


def test_the_half_hundredth_rounds_to_even() -> None:
    half = 432_000_000  # 0.005 day
    assert [_days_us(us) for us in (half, 3 * half, 0, 86_400_000_000 * 7)] == ["0.00", "0.02", "0.00", "7.00"]
