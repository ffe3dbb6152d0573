"""HTML forms from the JSON Schema of a task's form (pydantic's ``model_json_schema()``), and back.

    form = build_form(schema, values=task.data, errors=[{"loc": ["comment"], "msg": "..."}])
    {% from "macros/form.html" import schema_form %}
    {{ schema_form(form, action=url, csrf_token=csrf_token, submit="Complete the task") }}

    data = parse_form(schema, await request.form())   # typed JSON for the service, which validates

Widgets: a string is a text input (a textarea above 200 characters), an enum or Literal a select, a
boolean a checkbox (``const: true`` a checkbox that must be ticked), integer/number a number input, the
``date`` / ``date-time`` formats date inputs, an array of strings, numbers or dates a textarea with one
item per line, an array of objects a JSON textarea with a hint naming the item's fields. ``$ref`` /
``$defs``, ``allOf`` wrappers and ``anyOf`` with ``null`` (Optional) are resolved. A field's
``description`` is its hint; the error of a field (``loc`` from the service's ``{loc, msg}`` list) is
shown next to it; errors that name no field are the form's own.

:func:`parse_form` does not validate: it turns posted strings into the JSON types the schema asks for
(checkbox → bool, empty optional → None, lines → list, numbers → int/float, decimals kept as text)
and leaves anything it cannot convert as posted, so that the service's validation names the field.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasks.forms import spoken_field

TEXTAREA_ABOVE = 200  # characters of maxLength from which a string gets a textarea
TRUE_TEXTS = frozenset({"on", "true", "1", "yes"})
SCALARS = ("string", "integer", "number", "boolean")


@dataclass
class FormField:
    """One field as the template renders it."""

    name: str
    label: str
    widget: str  # text | textarea | select | checkbox | number | date | datetime | email | lines | json
    required: bool = False
    nullable: bool = False
    hint: str = ""
    options: list[str] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    error: str = ""
    attrs: dict[str, str] = field(default_factory=dict)  # min, max, step, maxlength, minlength
    item_type: str = "string"  # the items of `lines`: string | integer | number | date
    decimal: bool = False  # a number kept as text (pydantic's Decimal: number or string)

    @property
    def id(self) -> str:
        return f"field-{self.name}"

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint else []
        return " ".join(ids + ([f"{self.id}-error"] if self.error else []))


@dataclass
class SchemaForm:
    title: str
    description: str
    fields: list[FormField]
    errors: list[str] = field(default_factory=list)  # the form's own, naming no field

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(f.error for f in self.fields)


def build_form(schema: Mapping[str, Any], values: Mapping[str, Any] | None = None,
               errors: Iterable[Mapping[str, Any]] = ()) -> SchemaForm:
    """The form of `schema`, showing `values` (typed task data or the strings posted back) and the
    `errors` (``{loc, msg}``; ``loc`` a list or a dotted path, a leading "body" skipped)."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = [_field(name, prop, defs, name in required)
              for name, prop in schema.get("properties", {}).items()]
    by_name = {f.name: f for f in fields}
    for f in fields:
        _show_value(f, (values or {}).get(f.name, _MISSING), schema["properties"][f.name].get("default"))
    own: list[str] = []
    for error in errors:
        name, message = _error_target(error, by_name)
        if name is None:
            own.append(message)
        else:
            by_name[name].error = f"{by_name[name].error} {message}".strip()
    return SchemaForm(schema.get("title", ""), schema.get("description", ""), fields, own)


def parse_form(schema: Mapping[str, Any], form_data: Mapping[str, Any],
               timezone: str | None = None) -> dict[str, Any]:
    """The posted strings of `form_data` as the JSON `schema` expects (fields not in it are dropped;
    an empty required field is left out, so that the validation says it is required). A
    ``datetime-local`` value gets `timezone`'s offset when one is given."""
    form = build_form(schema)
    data: dict[str, Any] = {}
    for f in form.fields:
        if f.widget == "checkbox":
            data[f.name] = str(form_data.get(f.name, "")).strip().lower() in TRUE_TEXTS
            continue
        raw = form_data.get(f.name)
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            if not f.required and f.nullable:
                data[f.name] = None
            continue
        data[f.name] = _typed(f, text, timezone)
    return data


# --- from schema to fields --------------------------------------------------------------------

_MISSING = object()


def _resolve(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    """(the effective schema, nullable, decimal) of a property: $ref, allOf and anyOf unwrapped."""
    prop = dict(prop)
    nullable = decimal = False
    if "$ref" in prop:
        prop = {**defs.get(prop.pop("$ref").split("/")[-1], {}), **prop}
    if "allOf" in prop and len(prop["allOf"]) == 1:
        inner, nullable, decimal = _resolve(prop.pop("allOf")[0], defs)
        prop = {**inner, **prop}
    if "anyOf" in prop:
        options = [_resolve(o, defs)[0] for o in prop.pop("anyOf")]
        nullable = any(o.get("type") == "null" for o in options)
        options = [o for o in options if o.get("type") != "null"]
        types = {o.get("type") for o in options}
        decimal = types == {"number", "string"} or types == {"integer", "string"}
        chosen = next((o for o in options if o.get("type") in ("number", "integer")), None) if decimal else None
        prop = {**(chosen or (options[0] if options else {})), **prop}
    return prop, nullable, decimal


def _field(name: str, prop: Mapping[str, Any], defs: Mapping[str, Any], required: bool) -> FormField:
    resolved, nullable, decimal = _resolve(prop, defs)
    f = FormField(name=name, label=resolved.get("title") or name.replace("_", " ").capitalize(),
                  widget="text", required=required, nullable=nullable, decimal=decimal,
                  hint=resolved.get("description", ""))
    kind = resolved.get("type")
    if "enum" in resolved or ("const" in resolved and kind != "boolean"):
        f.widget = "select"
        f.options = [str(o) for o in resolved.get("enum", [resolved.get("const")])]
    elif kind == "boolean":
        f.widget = "checkbox"
        f.required = resolved.get("const") is True  # an agreement that must be ticked
    elif kind in ("integer", "number"):
        f.widget = "number"
        f.attrs = _number_attrs(resolved, kind == "integer" and not decimal)
    elif kind == "array":
        _array_field(f, resolved, defs)
    elif kind == "string":
        f.widget = {"date": "date", "date-time": "datetime", "email": "email"}.get(resolved.get("format", ""), "text")
        if f.widget == "text" and resolved.get("maxLength", 0) > TEXTAREA_ABOVE:
            f.widget = "textarea"
        f.attrs = {k: str(resolved[s]) for k, s in (("maxlength", "maxLength"), ("minlength", "minLength"))
                   if s in resolved}
    elif kind == "object" or kind is None:
        f.widget = "json"
        f.hint = _join(f.hint, "JSON" + _fields_of(resolved))
    return f


def _number_attrs(schema: Mapping[str, Any], integer: bool) -> dict[str, str]:
    attrs = {"step": "1" if integer else "0.01"}
    for attr, keys in (("min", ("minimum", "exclusiveMinimum")), ("max", ("maximum", "exclusiveMaximum"))):
        for key in keys:
            if key in schema:
                bound = schema[key]
                if key.startswith("exclusive") and integer:
                    bound = bound + 1 if attr == "min" else bound - 1
                attrs[attr] = _number_text(bound)
                break
    return attrs


def _array_field(f: FormField, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> None:
    items, _, _ = _resolve(schema.get("items", {}), defs)
    kind = items.get("type")
    if kind in ("string", "integer", "number") and "properties" not in items:
        f.widget = "lines"
        f.item_type = "date" if items.get("format") == "date" else kind
        example = {"date": "2027-02-08", "integer": "a whole number"}.get(f.item_type, "one item")
        f.hint = _join(f.hint, f"One per line ({example}).")
    else:
        f.widget = "json"
        f.hint = _join(f.hint, "JSON: a list of objects" + _fields_of(items) + ', e.g. [{"…": "…"}].')
    if schema.get("minItems"):
        f.required = f.required or schema["minItems"] > 0


def _fields_of(schema: Mapping[str, Any]) -> str:
    names = list(schema.get("properties", {}))
    return f" with the fields {', '.join(names)}" if names else ""


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


# --- values and errors ------------------------------------------------------------------------

def _show_value(f: FormField, value: Any, default: Any) -> None:
    if value is _MISSING:
        value = default
    if f.widget == "checkbox":
        f.checked = value is True or (isinstance(value, str) and value.strip().lower() in TRUE_TEXTS)
        return
    if value is None:
        f.value = ""
    elif isinstance(value, str):
        f.value = value
    elif f.widget == "lines" and isinstance(value, (list, tuple)):
        f.value = "\n".join(str(item) for item in value)
    elif f.widget == "json":
        f.value = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        f.value = _number_text(value)
    else:
        f.value = str(value)


def _error_target(error: Mapping[str, Any], fields: Mapping[str, FormField]) -> tuple[str | None, str]:
    loc = error.get("loc", error.get("field", ()))
    parts = loc.split(".") if isinstance(loc, str) else [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    message = str(error.get("msg", error.get("message", "")))
    if parts and parts[0] in fields:
        detail = spoken_field(parts[1:])  # "item 2, date": counted from 1, as people count
        return parts[0], f"{message} ({detail})" if detail else message
    return None, message


# --- from posted strings to typed values ----------------------------------------------------------

def _typed(f: FormField, text: str, timezone: str | None) -> Any:
    if f.widget == "number":
        return text if f.decimal else _number(text, f.attrs.get("step") == "1")
    if f.widget == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if f.item_type in ("integer", "number"):
            return [_number(line, f.item_type == "integer") for line in lines]
        return lines
    if f.widget == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if f.widget == "datetime" and timezone and len(text) <= 19:
        return _with_zone(text, timezone)
    return text


def _number(text: str, integer: bool) -> int | float | str:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        return text


def _number_text(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _with_zone(text: str, timezone: str) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.replace(tzinfo=ZoneInfo(timezone)).isoformat()
