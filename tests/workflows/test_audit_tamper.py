"""R-AUDIT against someone holding the database file (no key, no access to the anchor file): every
rewrite of the trail he can make is named by `verify_trail`, and so is a changed or removed anchor
line. Under the old design (plain SHA-256, one chain, no anchors) each of these passed."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from tests.workflows.builders import Programme, programme  # noqa: F401
from tests.workflows.test_audit_trail import drop_append_only_guard
from workflows import audit
from workflows.app import App
from workflows.db.process_models import AuditChain, AuditEvent
from workflows.services.audit_trail import anchor, verify_trail

COLUMNS = [c.name for c in AuditEvent.__table__.columns]


@pytest.fixture
def worked(programme: Programme) -> Programme:  # noqa: F811
    return programme.submit_visitor_application().assessed().matched().committed()


def chain_rows(app: App, chain: str) -> list[dict[str, Any]]:
    with app.uow() as uow:
        table = AuditEvent.__table__
        return [dict(r._mapping) for r in uow.session.execute(
            select(table).where(table.c.chain == chain).order_by(table.c.id))]


def rewrite(app: App, chain: str, rows: list[dict[str, Any]], start: int = 0) -> None:
    """What the intruder does after changing `rows[start]`: relink and rehash it and every later event
    the only way he can (plain SHA-256, as the old design did), and move the chain's head."""
    table = AuditEvent.__table__
    with app.db.begin() as conn:
        previous = rows[start - 1]["hash"] if start else audit.GENESIS
        for row in rows[start:]:
            row["prev_hash"] = previous
            row["hash"] = previous = audit.plain_digest(row)
            conn.execute(update(table).where(table.c.id == row["id"]).values(
                {k: v for k, v in row.items() if k != "id"}))
        conn.execute(update(AuditChain.__table__).where(AuditChain.__table__.c.chain == chain)
                     .values(events=len(rows), last_hash=previous))


def instance_chain(prog: Programme) -> str:
    return f"instance:{prog.instance_id}"


def assert_named(app: App, event_id: int | None, problem: str) -> dict[str, Any]:
    result = verify_trail(app)
    assert (result["ok"], result["first_bad_event"]) == (False, event_id), result
    assert problem in result["problem"], result["problem"]
    assert "anchor" not in result  # a failing check writes no anchor
    return result


def test_a_passing_check_writes_an_anchor_and_the_next_check_checks_it(worked: Programme) -> None:
    app = worked.app
    first = verify_trail(app)
    assert first == {"ok": True, "case": "intact", "events": first["events"], "first_bad_event": None,
                     "anchors_checked": 0, "problem": None, "anchor": 1}
    line = json.loads(app.settings.anchor_path.read_text().splitlines()[0])
    assert line["n"] == 1 and line["events"] == first["events"] and line["reason"] == "verify"
    assert line["chains"][instance_chain(worked)][0] == len(chain_rows(app, instance_chain(worked)))
    second = verify_trail(app)
    assert (second["ok"], second["anchors_checked"], second["anchor"]) == (True, 1, 2)
    assert second["events"] == first["events"] + 1  # the event that recorded anchor 1
    assert list(json.loads(app.settings.anchor_path.read_text().splitlines()[1])["chains"]) == [audit.GLOBAL]


def test_a_changed_event_with_every_later_hash_recomputed_is_named(worked: Programme) -> None:
    app, chain = worked.app, instance_chain(worked)
    rows = chain_rows(app, chain)
    middle = len(rows) // 2
    drop_append_only_guard(app)
    rows[middle]["actor"] = "mallory"
    rewrite(app, chain, rows, middle)
    assert_named(app, rows[middle]["id"], "its content was changed after it was written")


def test_removing_the_newest_events_and_moving_the_head_is_named_once_anchored(worked: Programme) -> None:
    app, chain = worked.app, instance_chain(worked)
    anchor(app, "report")
    rows = chain_rows(app, chain)
    drop_append_only_guard(app)
    with app.db.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.id.in_([r["id"] for r in rows[-3:]])))
        conn.execute(update(AuditChain).where(AuditChain.chain == chain).values(
            events=len(rows) - 3, last_hash=rows[-4]["hash"]))
    assert_named(app, rows[-4]["id"], f"3 of the {len(rows)} events of chain {chain} that anchor 1")


def test_the_events_written_after_the_last_anchor_can_still_be_removed_unnoticed(worked: Programme) -> None:
    """The limit of the design, stated: what no anchor covers yet can be cut off the end of a chain."""
    app, chain = worked.app, instance_chain(worked)
    assert verify_trail(app)["ok"]
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "unanchored", instance_id=worked.instance_id)
        uow.commit()
    rows = chain_rows(app, chain)
    drop_append_only_guard(app)
    with app.db.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.id == rows[-1]["id"]))
        conn.execute(update(AuditChain).where(AuditChain.chain == chain).values(
            events=len(rows) - 1, last_hash=rows[-2]["hash"]))
    assert verify_trail(app)["ok"]


def test_an_inserted_event_is_named(worked: Programme) -> None:
    app, chain = worked.app, instance_chain(worked)
    rows = chain_rows(app, chain)
    drop_append_only_guard(app)
    forged = {**rows[-1], "action": "payment_approved", "prev_hash": rows[-1]["hash"]}
    forged["hash"] = audit.plain_digest(forged)
    del forged["id"]
    with app.db.begin() as conn:
        new_id = conn.execute(insert(AuditEvent).values(forged).returning(AuditEvent.id)).scalar_one()
        conn.execute(update(AuditChain).where(AuditChain.chain == chain).values(
            events=len(rows) + 1, last_hash=forged["hash"]))
    assert_named(app, new_id, "its content was changed after it was written")


def test_two_events_swapped_are_named(worked: Programme) -> None:
    app, chain = worked.app, instance_chain(worked)
    rows = chain_rows(app, chain)
    first, second = rows[5], rows[6]
    drop_append_only_guard(app)
    table = AuditEvent.__table__
    with app.db.begin() as conn:  # the two rows' contents exchanged (ids stay: the order changes)
        conn.execute(update(table).where(table.c.id == first["id"]).values(hash="x" * 64))
        for row, into in ((first, second), (second, first)):
            conn.execute(update(table).where(table.c.id == into["id"]).values(
                {k: v for k, v in row.items() if k != "id"}))
    assert_named(app, first["id"], f"the event before it on chain {chain} was removed, inserted or changed")


def test_a_whole_chain_removed_after_an_anchor_is_named(worked: Programme) -> None:
    app, chain = worked.app, instance_chain(worked)
    assert verify_trail(app)["ok"]
    drop_append_only_guard(app)
    with app.db.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.chain == chain))
        conn.execute(delete(AuditChain).where(AuditChain.chain == chain))
    assert_named(app, None, f"of chain {chain} that anchor 1")


def test_global_events_rehashed_as_if_from_before_the_key_are_named(worked: Programme) -> None:
    """The downgrade: claim every global event is from before migration 0004 and rehash them plain."""
    app = worked.app
    assert verify_trail(app)["ok"]
    rows = chain_rows(app, audit.GLOBAL)
    rows[0]["actor"] = "mallory"
    drop_append_only_guard(app)
    rewrite(app, audit.GLOBAL, rows)
    with app.db.begin() as conn:
        conn.execute(update(AuditChain).where(AuditChain.chain == audit.GLOBAL).values(plain=len(rows)))
    result = verify_trail(app)
    assert not result["ok"] and "the number of global events hashed without the key was changed" in result["problem"]


def lines(app: App) -> list[str]:
    return app.settings.anchor_path.read_text().splitlines()


def write_lines(app: App, kept: list[str]) -> None:
    app.settings.anchor_path.write_text("".join(f"{line}\n" for line in kept))


def anchored_thrice(app: App) -> list[str]:
    for _ in range(3):
        assert verify_trail(app)["ok"]
    return lines(app)


def test_a_changed_anchor_line_is_named(worked: Programme) -> None:
    app = worked.app
    kept = anchored_thrice(app)
    line = json.loads(kept[1])
    line["events"] -= 1
    write_lines(app, [kept[0], json.dumps(line), kept[2]])
    result = verify_trail(app)
    assert not result["ok"] and "anchor line 2 of" in result["problem"] and "was changed" in result["problem"]
    assert result["anchors_checked"] == 2


def test_a_removed_anchor_line_is_named(worked: Programme) -> None:
    app = worked.app
    kept = anchored_thrice(app)
    write_lines(app, [kept[0], kept[2]])
    result = verify_trail(app)
    assert not result["ok"]
    assert "anchor line 2 of" in result["problem"] and "is anchor 3: anchors before it were removed" in result["problem"]


def test_a_removed_last_anchor_line_is_named_by_the_event_that_recorded_it(worked: Programme) -> None:
    app = worked.app
    kept = anchored_thrice(app)
    write_lines(app, kept[:2])
    with app.uow() as uow:
        recorded = uow.session.scalars(select(AuditEvent.id).where(AuditEvent.subject == "anchor:3")).one()
    result = verify_trail(app)
    assert not result["ok"] and result["problem"] == (
        f"anchor 3 (recorded by event {recorded}) is missing from {app.settings.anchor_path}")


def test_removing_the_last_anchors_own_event_and_moving_the_head_back_is_named(worked: Programme) -> None:
    """The event recording an anchor comes after the line (no anchor covers it yet): without the check
    that every line's own event is on the trail, cutting it off the global chain went unnoticed."""
    app = worked.app
    anchored_thrice(app)
    rows = chain_rows(app, audit.GLOBAL)
    assert (rows[-1]["action"], rows[-1]["subject"]) == (audit.ANCHORED, "anchor:3")
    drop_append_only_guard(app)
    with app.db.begin() as conn:
        conn.execute(delete(AuditEvent).where(AuditEvent.id == rows[-1]["id"]))
        conn.execute(update(AuditChain).where(AuditChain.chain == audit.GLOBAL).values(
            events=len(rows) - 1, last_hash=rows[-2]["hash"]))
    result = assert_named(app, None, f"anchor 3 of {app.settings.anchor_path} has no audit_anchored event on "
                                     "the trail: the event that recorded it was removed")
    assert result["case"] == "changed"


def test_an_anchor_from_elsewhere_is_refused(worked: Programme) -> None:
    """A line made with another key (or by hand) is not an anchor."""
    app = worked.app
    kept = anchored_thrice(app)
    forged = json.loads(kept[2])
    forged["mac"] = audit.Keyed("not-the-audit-key-at-all").mac(b"anything")
    write_lines(app, [*kept[:2], json.dumps(forged)])
    result = verify_trail(app)
    assert not result["ok"] and "anchor line 3 of" in result["problem"]


def test_a_payment_batch_is_anchored_right_after_it_is_committed(app: App) -> None:
    from benchmarks.payment_batch import seed_approved_claims
    from workflows.services.payments import create_batch

    seed_approved_claims(app, 3, partnership_code="CXP-NORTH")
    batch = create_batch(app, "CXP-NORTH")
    (line,) = [json.loads(x) for x in lines(app)]
    assert line["reason"] == f"batch:{batch['batch']}"
    with app.uow() as uow:
        events = uow.session.get(AuditChain, audit.GLOBAL).events
        created = uow.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "batch_created")).one()
        anchored, data = uow.session.execute(select(AuditEvent.id, AuditEvent.data_after)
                                             .where(AuditEvent.action == audit.ANCHORED)).one()
    assert line["chains"][audit.GLOBAL][0] == events - 1  # everything up to the anchor's own event
    assert created < anchored and data["n"] == 1
    assert verify_trail(app)["ok"]
