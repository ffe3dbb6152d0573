"""The KPIs of SPEC §6 as read models: rows in (Arrow tables), KPI tables out, computed by DuckDB.

Pure: no database session, no clock. `workflows.services.reporting` selects the rows of one scope (the
programme, or one partnership: an exchange counts once, for the partnership that pays it — the
visitor's) up to a cut-off, and this module turns them into tables:

- statuses are as of the cut-off, rebuilt from the audit trail (the last `exchange_status` /
  `application_status` event before it; no event yet means `submitted`);
- the time in each stage runs from one `exchange_status` event to the next (the first stage from the
  exchange's creation); the time to pay from the last accepted evidence validation (`task_completed`
  of `validate_evidence`) to the bank's execution (`payment_executed`), against the 10-day target;
- amounts: committed = a `budget_committed` event before the cut-off and not paid by then, paid =
  claims paid before the cut-off — of the scope's own exchanges; remaining = the call's budget less
  what every partnership of the call committed and was paid (a call's budget is shared, not split);
- overdue tasks: human tasks open at the cut-off whose due date had passed.

Every table is sorted, so the same rows give the same tables (and the same files).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

PAY_TARGET_DAYS = 10
DIMENSIONS = ("partnership", "country_pair", "format", "org_type", "sector")


@dataclass(frozen=True)
class KpiRows:
    """What the KPIs are made of, column by column (each a list, or an Arrow table)."""

    exchanges: Any     # Arrow tables of `SCHEMAS` (sectors ';'-joined, amounts as text)
    applications: Any
    claims: Any
    calls: Any
    tasks: Any
    events: Any


@dataclass(frozen=True)
class KpiTable:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    chart: tuple[str, str, str | None] | None = None  # (x/category column, value column, colour column)


@dataclass
class KpiReport:
    period: str
    scope: str
    as_of: datetime
    tables: dict[str, KpiTable] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The figures of `--json`: exchanges by status and the money, amounts as strings."""
        budget = self.tables["budget"].rows

        def total(i: int) -> Decimal:
            return sum((Decimal(r[i]) for r in budget), Decimal("0"))

        share = self.tables["region_pairs_summary"].rows[0]
        pay = self.tables["time_to_pay_summary"].rows[0]
        return {
            "exchanges_by_status": {r[0]: r[1] for r in self.tables["exchanges_by_status"].rows},
            "applications_by_status": {f"{r[0]}:{r[1]}": r[2] for r in self.tables["applications_by_status"].rows},
            "budget_eur": f"{total(1):.2f}", "committed_eur": f"{total(2):.2f}", "paid_eur": f"{total(3):.2f}",
            "remaining_eur": f"{total(4):.2f}", "different_region_share": share[2],
            "paid_within_target_share": pay[5], "overdue_tasks": sum(r[2] for r in self.tables["overdue_tasks"].rows),
        }


_TEXT, _INT, _TIME = "string", "int64", "timestamp"
SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "exchanges": (("ref", _TEXT), ("partnership", _TEXT), ("call", _TEXT), ("format", _TEXT),
                  ("visitor_country", _TEXT), ("host_country", _TEXT), ("org_type", _TEXT), ("sectors", _TEXT),
                  ("visitor_region", _TEXT), ("host_region", _TEXT), ("working_days", _INT), ("created_at", _TIME)),
    "applications": (("id", _INT), ("partnership", _TEXT), ("role", _TEXT), ("format", _TEXT), ("org_type", _TEXT),
                     ("country", _TEXT), ("sectors", _TEXT), ("submitted_at", _TIME)),
    "claims": (("ref", _TEXT), ("call", _TEXT), ("partnership", _TEXT), ("amount", _TEXT)),
    "calls": (("code", _TEXT), ("budget", _TEXT), ("partnerships", _TEXT)),
    "tasks": (("task", _TEXT), ("partnership", _TEXT), ("subject", _TEXT), ("due_at", _TIME), ("created_at", _TIME),
              ("completed_at", _TIME)),
    "events": (("seq", _INT), ("occurred_at", _TIME), ("action", _TEXT), ("subject", _TEXT), ("task", _TEXT),
               ("status", _TEXT), ("decision", _TEXT)),
}


def arrow_table(name: str, columns: Sequence[Sequence[Any]]) -> Any:
    """An Arrow table of `SCHEMAS[name]` from its columns (datetimes naive UTC, or ISO text)."""
    import pyarrow as pa

    arrays = []
    for (_col, kind), values in zip(SCHEMAS[name], columns, strict=True):
        if kind == _TIME:
            arrays.append(_timestamps(values))
        else:
            arrays.append(pa.array(values, pa.string() if kind == _TEXT else pa.int64()))
    return pa.table(arrays, names=[c for c, _ in SCHEMAS[name]])


def _timestamps(values: Sequence[Any]) -> Any:
    import pyarrow as pa

    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, str):  # SQLite's text: "YYYY-MM-DD HH:MM:SS.ffffff", UTC
        return pa.array(values, pa.string()).cast(pa.timestamp("us"))
    if isinstance(sample, datetime) and sample.tzinfo is not None:
        return pa.array(values, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    return pa.array(values, pa.timestamp("us"))


def _q(con: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]


def compute(rows: KpiRows, cutoff: datetime, period: str, partnership: str | None = None) -> KpiReport:
    """The KPI tables of `rows` as of `cutoff` (naive UTC), programme-wide or for one partnership."""
    import duckdb

    con = duckdb.connect()
    try:
        for name in ("exchanges", "applications", "claims", "calls", "tasks", "events"):
            con.register(f"raw_{name}", getattr(rows, name))
        _scope(con, partnership)
        _prepare(con, cutoff)
        report = KpiReport(period, partnership or "programme", cutoff)
        for table in (*_status_tables(con), *_money_and_days(con), *_durations(con, cutoff), _overdue(con, cutoff)):
            report.tables[table.name] = table
        return report
    finally:
        con.close()


def _scope(con: Any, partnership: str | None) -> None:
    """The rows of one partnership (an exchange, its claim and its tasks count for the visitor's)."""
    value = "NULL" if partnership is None else "'" + partnership.replace("'", "''") + "'"
    match = f"({value} IS NULL OR {{0}} = {value})"
    for name in ("exchanges", "applications", "claims"):
        con.execute(f"CREATE TEMP VIEW s_{name} AS SELECT * FROM raw_{name} WHERE {match.format('partnership')}")
    con.execute(f"CREATE TEMP VIEW s_calls AS SELECT * FROM raw_calls WHERE ({value} IS NULL OR "
                f"list_contains(string_split(partnerships, ';'), {value}))")
    con.execute(f"""CREATE TEMP VIEW s_tasks AS SELECT t.task, coalesce(t.partnership, x.partnership, '—') AS partnership,
                    t.subject, t.due_at, t.created_at, t.completed_at
                    FROM raw_tasks t LEFT JOIN raw_exchanges x ON x.ref = t.subject
                    WHERE {match.format("coalesce(t.partnership, x.partnership)")}""")


def _prepare(con: Any, cutoff: datetime) -> None:
    con.execute("CREATE TEMP TABLE ev AS SELECT seq, CAST(occurred_at AS TIMESTAMP) AS ts, action, subject, task, "
                "status, decision FROM raw_events WHERE CAST(occurred_at AS TIMESTAMP) < ?", [cutoff])
    con.execute("""CREATE TEMP TABLE ex AS
        SELECT x.*, CAST(x.created_at AS TIMESTAMP) AS created, coalesce(s.status, 'submitted') AS status
        FROM s_exchanges x LEFT JOIN (
            SELECT subject, arg_max(status, seq) AS status FROM ev WHERE action = 'exchange_status' GROUP BY subject
        ) s ON s.subject = x.ref
        WHERE CAST(x.created_at AS TIMESTAMP) < ?""", [cutoff])
    con.execute("""CREATE TEMP TABLE ap AS
        SELECT a.*, coalesce(s.status, 'submitted') AS status FROM s_applications a LEFT JOIN (
            SELECT subject, arg_max(status, seq) AS status FROM ev WHERE action = 'application_status' GROUP BY subject
        ) s ON s.subject = 'application:' || CAST(a.id AS VARCHAR)
        WHERE CAST(a.submitted_at AS TIMESTAMP) < ?""", [cutoff])


def _dimension_sql(dim: str, alias: str, subject: str) -> str:
    if dim == "country_pair":
        return (f"{alias}.visitor_country || ' → ' || coalesce({alias}.host_country, '—')" if subject == "exchanges"
                else f"{alias}.country")
    if dim == "sector":
        return f"unnest(CASE WHEN coalesce({alias}.sectors, '') = '' THEN ['—'] ELSE string_split({alias}.sectors, ';') END)"
    return f"coalesce({alias}.{dim}, '—')"


def _status_tables(con: Any) -> list[KpiTable]:
    tables = [
        KpiTable("exchanges_by_status", "Exchanges by status", ("status", "exchanges"),
                 _q(con, "SELECT status, count(*)::INT FROM ex GROUP BY 1 ORDER BY 1"), ("status", "exchanges", None)),
        KpiTable("applications_by_status", "Applications by role and status", ("role", "status", "applications"),
                 _q(con, "SELECT role, status, count(*)::INT FROM ap GROUP BY 1, 2 ORDER BY 1, 2"),
                 ("status", "applications", "role")),
    ]
    for dim in DIMENSIONS:
        label = "country" if dim == "country_pair" else dim
        tables.append(KpiTable(
            f"exchanges_by_{dim}", f"Exchanges by {dim.replace('_', ' ')} and status", (dim, "status", "exchanges"),
            _q(con, f"SELECT v, status, count(*)::INT FROM (SELECT {_dimension_sql(dim, 'ex', 'exchanges')} AS v, "
                    "status FROM ex) GROUP BY 1, 2 ORDER BY 1, 2"), (dim, "exchanges", "status")))
        tables.append(KpiTable(
            f"applications_by_{label}", f"Applications by {label.replace('_', ' ')} and role", (label, "role", "applications"),
            _q(con, f"SELECT v, role, count(*)::INT FROM (SELECT {_dimension_sql(dim, 'ap', 'applications')} AS v, "
                    "role FROM ap) GROUP BY 1, 2 ORDER BY 1, 2"), (label, "applications", "role")))
    pairs = _q(con, """SELECT coalesce(visitor_region, 'unknown'), coalesce(host_region, 'unknown'), count(*)::INT,
                              bool_or(visitor_region IS NOT NULL AND host_region IS NOT NULL AND visitor_region <> host_region)
                       FROM ex WHERE host_country IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""")
    matched = sum(r[2] for r in pairs)
    different = sum(r[2] for r in pairs if r[3])
    tables.append(KpiTable("region_pairs", "Pairs by region development category",
                           ("visitor_region", "host_region", "pairs", "different"), pairs, ("host_region", "pairs", "visitor_region")))
    tables.append(KpiTable("region_pairs_summary", "Share of pairs across different region categories",
                           ("pairs", "different_categories", "share"),
                           [(matched, different, _share(different, matched))]))
    return tables


def _share(part: int, whole: int) -> str:
    return f"{Decimal(part) / Decimal(whole):.4f}" if whole else "0.0000"


def _money_and_days(con: Any) -> list[KpiTable]:
    days = KpiTable("working_days", "Distribution of counted working days", ("working_days", "exchanges"),
                    _q(con, "SELECT working_days::INT, count(*)::INT FROM ex WHERE working_days IS NOT NULL AND ref IN "
                            "(SELECT subject FROM ev WHERE action = 'evidence_recorded') GROUP BY 1 ORDER BY 1"), ("working_days", "exchanges", None))
    # every claim of the scope's calls: the scope's own count as committed and paid, all of them against
    # what is left, since a call's budget is shared by its partnerships (not split between them)
    con.execute("""CREATE TEMP TABLE cl AS SELECT c.*, CAST(c.amount AS DECIMAL(18, 2)) AS eur,
            c.ref IN (SELECT ref FROM s_claims) AS mine,
            (SELECT count(*) FROM ev WHERE ev.action = 'budget_committed' AND ev.subject = c.ref) > 0 AS committed_,
            (SELECT min(ts) FROM ev WHERE ev.action = 'payment_executed' AND ev.subject = c.ref) AS paid
        FROM raw_claims c WHERE c.call IN (SELECT code FROM s_calls)""")
    budget = _q(con, """SELECT k.code, CAST(k.budget AS DECIMAL(18, 2)) AS budget,
                coalesce(sum(eur) FILTER (WHERE mine AND committed_ AND paid IS NULL), 0)::DECIMAL(18, 2),
                coalesce(sum(eur) FILTER (WHERE mine AND paid IS NOT NULL), 0)::DECIMAL(18, 2),
                coalesce(sum(eur) FILTER (WHERE committed_ OR paid IS NOT NULL), 0)::DECIMAL(18, 2)
            FROM s_calls k LEFT JOIN cl ON cl.call = k.code GROUP BY 1, 2 ORDER BY 1""")
    rows = [(code, f"{b:.2f}", f"{c:.2f}", f"{p:.2f}", f"{b - spent:.2f}") for code, b, c, p, spent in budget]
    return [days, KpiTable("budget", "Amounts committed and paid (by this scope) against each call's budget, and what "
                                     "is left of the call for all its partnerships (EUR)",
                           ("call", "budget_eur", "committed_eur", "paid_eur", "remaining_eur"), rows)]


def _durations(con: Any, cutoff: datetime) -> list[KpiTable]:
    stages = _q(con, """WITH steps AS (
            SELECT ref, 'submitted' AS stage, created AS ts, -1 AS seq FROM ex
            UNION ALL SELECT subject, status, ts, seq FROM ev WHERE action = 'exchange_status' AND subject IN (SELECT ref FROM ex)
        ), spans AS (
            SELECT stage, row_number() OVER (PARTITION BY ref ORDER BY ts, seq) AS pos,
                   epoch(lead(ts) OVER (PARTITION BY ref ORDER BY ts, seq) - ts) / 86400.0 AS days FROM steps
        )
        SELECT stage, count(days)::INT, round(avg(days), 2), round(median(days), 2), round(max(days), 2), avg(pos)
        FROM spans WHERE days IS NOT NULL GROUP BY stage ORDER BY 6, 1""")
    stage_rows = [(s, n, _num(a), _num(m), _num(x)) for s, n, a, m, x, _ in stages]
    paid = _q(con, """WITH v AS (
            SELECT subject, ts FROM ev WHERE action = 'task_completed' AND task = 'validate_evidence' AND decision = 'accept'
        ), p AS (SELECT subject, min(ts) AS paid FROM ev WHERE action = 'payment_executed' GROUP BY 1)
        SELECT subject, strftime(validated, '%Y-%m-%d %H:%M:%S'), strftime(paid, '%Y-%m-%d %H:%M:%S'),
               epoch_us(paid) - epoch_us(validated)
        FROM (SELECT p.subject, max(v.ts) AS validated, p.paid FROM p JOIN v ON v.subject = p.subject AND v.ts <= p.paid
              WHERE p.subject IN (SELECT ref FROM ex) GROUP BY p.subject, p.paid) ORDER BY 1""")
    # the text and the microseconds come from DuckDB: no datetime object per row (40,000 at 1 M events)
    target_us = PAY_TARGET_DAYS * 86_400_000_000
    per = [(ref, v, p, _days_us(us), us <= target_us) for ref, v, p, us in paid]
    values = sorted(Decimal(r[3]) for r in per)
    within = sum(1 for r in per if r[4])
    summary = [(len(per), _median(values), f"{sum(values, Decimal('0')) / len(values):.2f}" if values else "0.00",
                f"{values[-1]:.2f}" if values else "0.00", within, _share(within, len(per)), PAY_TARGET_DAYS)]
    return [
        KpiTable("stage_durations", "Time spent in each stage (days, from the audit trail)",
                 ("stage", "exchanges", "mean_days", "median_days", "max_days"), stage_rows, ("stage", "median_days", None)),
        KpiTable("time_to_pay", "Time from evidence validation to payment (days)",
                 ("exchange", "validated_at", "paid_at", "days", "within_target"), per),
        KpiTable("time_to_pay_summary", "Time to pay against the target",
                 ("paid", "median_days", "mean_days", "max_days", "within_target", "within_target_share", "target_days"),
                 summary),
    ]


def _num(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}" if value is not None else "0.00"


_US_PER_HUNDREDTH_DAY = 864_000_000


def _days_us(microseconds: int) -> str:
    """Days (never negative: validated before paid) to two decimals, rounded half to even as
    `f"{Decimal(us) / Decimal(86_400_000_000):.2f}"` is, in integers."""
    hundredths, rest = divmod(microseconds, _US_PER_HUNDREDTH_DAY)
    if 2 * rest > _US_PER_HUNDREDTH_DAY or (2 * rest == _US_PER_HUNDREDTH_DAY and hundredths % 2):
        hundredths += 1
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _median(values: list[Decimal]) -> str:
    if not values:
        return "0.00"
    mid = len(values) // 2
    return f"{values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2:.2f}"


def _overdue(con: Any, cutoff: datetime) -> KpiTable:
    rows = _q(con, """SELECT t.partnership, t.task, count(*)::INT,
                             round(max(epoch(? - CAST(t.due_at AS TIMESTAMP))) / 86400.0, 2)
                      FROM s_tasks t
                      WHERE CAST(t.created_at AS TIMESTAMP) < ? AND CAST(t.due_at AS TIMESTAMP) < ?
                        AND (t.completed_at IS NULL OR CAST(t.completed_at AS TIMESTAMP) >= ?)
                      GROUP BY 1, 2 ORDER BY 1, 2""", cutoff, cutoff, cutoff, cutoff)
    return KpiTable("overdue_tasks", "Tasks open past their due date", ("partnership", "task", "overdue", "max_days_overdue"),
                    [(p, t, n, _num(d)) for p, t, n, d in rows], ("task", "overdue", "partnership"))
