"""Rule-set versions (SPEC §14): every version with its values side by side, and a new version
from a file, validated and stored once by its content.

A new version is a JSON document of `rules.ruleset.RuleSet`'s settings (`rule_set_to_dict`'s
shape: `version`, `thresholds` per country, `cap`, deadlines…; a setting left out takes the default,
with `base` naming a stored version to start from instead). It must hold as a rule set
(`RuleSet.__post_init__`) and under the programme's rules (`programme_problems`: no cap above
EUR 1,100, every eligible country priced, thresholds consistent). Its values are stored once: the
same values under another name answer the version that has them (not a duplicate); a name already
used for other values is a conflict. A `note` in the document is kept with the version. A draft call
picks a version; a published call keeps its own."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from rules.errors import RuleInputError
from rules.ruleset import RuleSet, programme_problems, rule_set_digest, rule_set_from_dict, rule_set_to_dict
from workflows.app import App
from workflows.db.models import Call, RuleSetRecord
from workflows.services import Conflict, FieldError, Invalid, NotFound, access
from workflows.services.access import Principal
from workflows.services.admin_outputs import RuleSetAddedOut, RuleSetOut, RuleSetRowOut, RuleSetsOut
from workflows.uow import UnitOfWork

MAX_RULE_SET_BYTES = 256 * 1024
VERSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def _out(uow: UnitOfWork, row: RuleSetRecord) -> RuleSetOut:
    calls = sorted(uow.session.scalars(select(Call.code).where(Call.rule_set_version == row.version)))
    return RuleSetOut(version=row.version, created_at=row.created_at, sha256=row.sha256, note=row.note,
                      created_by=row.created_by, calls=calls, values=dict(row.data))


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _rows(versions: list[RuleSetOut]) -> list[RuleSetRowOut]:
    """Every setting (thresholds country by country) across the versions, the differing ones marked."""
    settings: list[str] = []
    for v in versions:
        for name, value in v.values.items():
            keys = [f"thresholds.{c}" for c in value] if name == "thresholds" else [name]
            settings += [k for k in keys if k not in settings]
    ordered = sorted(settings, key=lambda s: (s.startswith("thresholds."), s))
    rows = []
    for setting in ordered:
        values: dict[str, str | None] = {}
        for v in versions:
            if setting.startswith("thresholds."):
                values[v.version] = _shown(v.values.get("thresholds", {}).get(setting.split(".", 1)[1]))
            else:
                values[v.version] = _shown(v.values.get(setting))
        rows.append(RuleSetRowOut(setting=setting, values=values, differs=len(set(values.values())) > 1))
    return [r for r in rows if r.setting != "version"]


def list_rule_sets(app: App, principal: Principal, compare: list[str] | None = None) -> RuleSetsOut:
    """Every version (newest first) and the table of their values side by side; `compare` (two or
    more versions) limits the table to those, with their differences marked. Any signed-in person."""
    with app.uow() as uow:
        rows = uow.session.scalars(select(RuleSetRecord).order_by(RuleSetRecord.created_at.desc(),
                                                                  RuleSetRecord.version.desc())).all()
        versions = [_out(uow, r) for r in rows]
    known = {v.version: v for v in versions}
    chosen = [c for c in dict.fromkeys(compare or []) if c]
    for name in chosen:
        if name not in known:
            raise NotFound(f"compare: no rule set version {name!r} (known: {', '.join(sorted(known))})")
    table = [known[c] for c in chosen] if chosen else versions
    return RuleSetsOut(versions=versions, compared=[v.version for v in table], rows=_rows(table))


def read_document(content: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """A rule-set document from an uploaded file or a JSON body; `Invalid` naming what is wrong."""
    if isinstance(content, Mapping):
        return dict(content)
    raw = content.encode("utf-8") if isinstance(content, str) else content
    if len(raw) > MAX_RULE_SET_BYTES:
        raise Invalid.field("file", f"is larger than {MAX_RULE_SET_BYTES // 1024} KB; a rule set is a small JSON file")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Invalid.field("file", "is not UTF-8 text: a rule set is a JSON file") from None
    except json.JSONDecodeError as err:
        raise Invalid.field("file", f"is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(document, dict):
        raise Invalid.field("file", "must hold one JSON object: the rule set's settings")
    return document


def _rule_set(uow: UnitOfWork, document: dict[str, Any]) -> RuleSet:
    version = document.get("version")
    if not isinstance(version, str) or not version.strip():
        raise Invalid.field("version", "a new rule set needs a version name, e.g. 2027.1")
    if len(version) > 40 or not set(version) <= VERSION_CHARS:
        raise Invalid.field("version", "use at most 40 letters, digits, dots, hyphens and underscores")
    base_name = document.pop("base", None)
    values: dict[str, Any] = {}
    if base_name is not None:
        base = uow.session.get(RuleSetRecord, str(base_name))
        if base is None:
            raise Invalid.field("base", f"{base_name!r} is no stored rule set version")
        values = dict(base.data)
        if "thresholds" in document and isinstance(document["thresholds"], Mapping):
            document["thresholds"] = {**values.get("thresholds", {}), **document["thresholds"]}
    values.update(document)
    try:
        return rule_set_from_dict(values)
    except RuleInputError as err:
        raise Invalid.field(err.field, err.message) from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as err:  # a value of the wrong shape
        raise Invalid.field("body", f"not a rule set: {err}"[:300]) from None


def add_rule_set(app: App, principal: Principal, content: bytes | str | Mapping[str, Any],
                 note: str | None = None) -> RuleSetAddedOut:
    """Store a new version after its checks, once by content (administrators only)."""
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, "add a rule set version", subject="rule_set:new")
        document = read_document(content)
        kept = document.pop("note", None)  # a note in the document itself, as in a file
        note = note if note is not None else (kept if isinstance(kept, str) else None)
        rule_set = _rule_set(uow, document)
        problems = programme_problems(rule_set)
        if problems:
            fields = [FieldError(tuple(f.split(".")), m) for f, m in problems]
            raise Invalid("; ".join(f"{f}: {m}" for f, m in problems), fields)
        digest = rule_set_digest(rule_set)
        same = uow.session.scalars(select(RuleSetRecord).where(RuleSetRecord.sha256 == digest)
                                   .order_by(RuleSetRecord.created_at)).first()
        if same is not None:
            return RuleSetAddedOut(version=_out(uow, same), created=False)
        if uow.session.get(RuleSetRecord, rule_set.version) is not None:
            raise Conflict(f"rule set {rule_set.version} exists already with other values: a version never "
                           "changes, give the new one another name")
        data = rule_set_to_dict(rule_set)
        row = RuleSetRecord(version=rule_set.version, data=data, created_at=uow.now(), sha256=digest,
                            note=(note or "").strip()[:2000] or None, created_by=principal.username)
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "rule_set_added", subject=f"rule_set:{rule_set.version}",
                  after={"sha256": digest, "note": row.note, "values": data})
        out = RuleSetAddedOut(version=_out(uow, row), created=True)
        uow.commit()
        return out
