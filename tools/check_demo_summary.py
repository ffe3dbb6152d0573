"""Check the JSON summary of `cxp demo --json`; exit 1 naming every problem found.

Usage::

    cxp demo --db URL --json > demo.json && python tools/check_demo_summary.py demo.json

The demo is healthy when its audit chain verifies, every exchange ended in a final state, every
process instance completed and money was paid.
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

FINAL_STATES = {"ineligible", "rejected", "withdrawn", "not_matched", "cancelled", "closed_without_grant", "closed"}


def problems(summary: dict[str, Any]) -> list[str]:
    """What is wrong with a demo summary (empty when nothing is)."""
    found = []
    audit = summary.get("audit") or {}
    if audit.get("ok") is not True:
        found.append(f"audit: the chain does not verify ({audit})")
    states = summary.get("exchanges_by_state") or {}
    if not states:
        found.append("exchanges_by_state: the demo made no exchange")
    unfinished = {state: n for state, n in states.items() if state not in FINAL_STATES}
    if unfinished:
        found.append(f"exchanges_by_state: exchanges not in a final state: {unfinished}")
    instances = summary.get("instances_by_status") or {}
    if set(instances) != {"completed"}:
        found.append(f"instances_by_status: not every process instance completed: {instances}")
    try:
        paid = Decimal(str(summary.get("total_paid_eur")))
    except InvalidOperation:
        paid = Decimal(0)
    if not paid > 0:
        found.append(f"total_paid_eur: no money was paid ({summary.get('total_paid_eur')!r})")
    return found


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        summary = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"demo summary: cannot read {sys.argv[1]}: {err}", file=sys.stderr)
        return 1
    found = problems(summary) if isinstance(summary, dict) else ["the summary is not a JSON object"]
    for problem in found:
        print(f"demo summary: {problem}", file=sys.stderr)
    if not found:
        print(f"demo summary: {sum(summary['exchanges_by_state'].values())} exchanges in final states, "
              f"EUR {summary['total_paid_eur']} paid, "
              f"{summary['audit']['events']} audit events verified")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
