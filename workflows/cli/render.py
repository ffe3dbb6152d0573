"""Human-readable (rich) output of the CLI; JSON output lives in the commands."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def print_tasks(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no open tasks")
        return
    table = Table("id", "task", "subject", "lane", "partnership", "due", "assignee")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["subject"] or "", r["lane"], str(r["partnership_id"] or ""),
                      (r["due_at"] or "")[:16], str(r["assignee_id"] or ""))
    console.print(table)


def print_instance(view: dict[str, Any]) -> None:
    console.print(f"[bold]instance {view['id']}[/] {view['process']} v{view['version']} "
                  f"({view['subject']}): {view['status']} {view['outcome'] or ''}")
    if view["incident"]:
        console.print(f"[red]incident[/] at {view['incident'].get('task')}: {view['incident'].get('error')}")
    if view["waiting_for"]:
        console.print("waiting for: " + ", ".join(view["waiting_for"]))
    if view["next_timer_at"]:
        console.print(f"next timer: {view['next_timer_at']}")
    for v in view.get("versions", [])[1:]:  # moved between versions: each move, who and why
        moved = "rolled back" if v["action"] == "rolled_back" else "moved"
        console.print(f"{v['at'][:16]} {moved} from v{v['from_version']} to v{v['version']} by {v['by']}: "
                      f"{v['reason'] or ''}")
    print_tasks(view["open_tasks"])
    table = Table("at", "actor", "action", "task")
    for e in view["history"]:
        table.add_row(e["at"][:19], f"{e['actor']} ({e['role']})", e["action"], e["task"] or "")
    console.print(table)


def print_demo_summary(result: dict[str, Any]) -> None:
    from collections import Counter
    from decimal import Decimal
    from pathlib import Path

    finished = result.get("finished", True)
    table = Table("final state" if finished else "state", "exchanges")
    for state, count in sorted(result["exchanges_by_state"].items()):
        table.add_row(state, str(count))
    console.print(table)
    console.print(f"total paid: EUR {Decimal(result['total_paid_eur']):,.2f}; "
                  f"emails queued: {result.get('emails_queued', 0)}, delivered: {result.get('emails_delivered', 0)}"
                  + (f" (in {result['mail_dir']})" if result.get("mail_dir") else "")
                  + f"; simulated until {result['simulated_until'][:10]}")
    if finished:
        _print_paths(result.get("paths") or {})
    else:
        console.print("the demo stopped with work waiting in the inboxes; `cxp demo` on the same --db continues it")
    folders = Counter(str(Path(f).parent) for f in result.get("files_written", []))
    for folder, count in sorted(folders.items()):
        console.print(f"wrote {count} files in {folder}")
    audit = result["audit"]
    console.print(f"audit chain: {'ok' if audit['ok'] else 'NOT OK'} ({audit['events']} events)")


def _print_paths(paths: dict[str, Any]) -> None:
    """Which scenario reached which final state, and the paths the demo shows."""
    if not paths:
        return
    table = Table("scenario", "exchanges → final state")
    for kind, exchanges in sorted(paths.get("scenarios", {}).items()):
        table.add_row(kind, ", ".join(f"{ref} {state}" for ref, state in sorted(exchanges.items())))
    console.print(table)
    shown = Table("path", "shown by")
    for name, value in paths.get("shown", {}).items():
        text = ("yes" if value else "NO") if isinstance(value, bool) else (", ".join(value) if value else "NOT SHOWN")
        shown.add_row(name.replace("_", " "), text)
    console.print(shown)
