"""The audit file of one exchange (SPEC §7): an HTML and a PDF summary, the process diagram and the
data they show, in one ZIP that is the same bytes for the same records."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from typing import Any

from reports.archive import zip_bytes


def render_html(data: dict[str, Any]) -> str:
    from jinja2 import Environment

    from reports.labels import day_reason, label, labels, subdivision_name

    source = resources.files("reports").joinpath("templates/audit_file.html.j2").read_text(encoding="utf-8")
    env = Environment(autoescape=True, keep_trailing_newline=True)
    env.filters.update(label=label, labels=labels, subdivision=subdivision_name,  # codes in words
                       value=shown, when=when, day_reason=day_reason)
    from reports.bpmn_svg import tiles

    return env.from_string(source).render(**data, diagram_tiles=tiles(str(data.get("diagram") or "")))


def shown(value: Any) -> str:
    """A recorded value as a person reads it: yes/no, a moment in UTC, a code in words, a list joined."""
    from reports.labels import label

    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or value in ("True", "False"):
        return "yes" if value in (True, "True") else "no"
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    text = str(value)
    moment = when(text)
    return moment if moment != text else label(text)


def when(value: Any) -> str:
    """"2027-01-13 08:00:00+00:00" (or ISO with T) as "2027-01-13 08:00 UTC"; anything else unchanged."""
    from datetime import UTC, datetime

    text = "" if value is None else str(value)
    if len(text) < 19 or text[4] != "-" or text[10] not in " T":
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@contextmanager
def _fixed_font_timestamps() -> Iterator[None]:
    """The PDF embeds font subsets whose `head` table fontTools stamps with the current time, unless
    SOURCE_DATE_EPOCH is set (the reproducible-builds convention): fixed while the PDF is written."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "315532800"  # 1980-01-01, as the ZIP entries
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def render_pdf(html: str) -> bytes:
    import weasyprint

    with _fixed_font_timestamps():
        pdf: bytes = weasyprint.HTML(string=html).write_pdf()  # weasyprint has no type information
        return pdf


def audit_zip(data: dict[str, Any], evidence: Mapping[str, bytes] | None = None) -> tuple[str, bytes]:
    """(file name, ZIP bytes): summary.html, summary.pdf, diagram.svg and audit-file.json, and the
    exchange's evidence files under `evidence/` (entry name → content) with `evidence/SHA256SUMS`
    listing each one's hash, as `sha256sum --check` reads it from that folder."""
    html = render_html(data)
    record = {k: v for k, v in data.items() if k != "diagram"}
    entries = {
        "summary.html": html.encode("utf-8"),
        "summary.pdf": render_pdf(html),
        "diagram.svg": data["diagram"].encode("utf-8"),
        "audit-file.json": json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"),
    }
    if evidence:
        entries.update({f"evidence/{name}": content for name, content in evidence.items()})
        entries["evidence/SHA256SUMS"] = "".join(
            f"{hashlib.sha256(content).hexdigest()}  {name}\n" for name, content in sorted(evidence.items())
        ).encode("utf-8")
    return f"audit-{data['x']['ref']}.zip", zip_bytes(entries)
