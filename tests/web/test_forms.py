"""Task forms rendered from their JSON Schema and parsed back (workflows/web/forms.py and
templates/macros/form.html), with the real forms of tasks/forms.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import workflows.web
from tasks.forms import FORMS, FormError, validate_form
from workflows.web.forms import build_form, parse_form

TEMPLATES = Path(workflows.web.__file__).parent / "templates"


def render(form, **kwargs) -> str:  # type: ignore[no-untyped-def]
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    template = env.from_string('{% from "macros/form.html" import schema_form %}'
                               '{{ schema_form(form, action="/tasks/1/complete", csrf_token="tok") }}')
    return template.render(form=form, **kwargs)


def schema(task: str) -> dict:
    return FORMS[task].model_json_schema()


@pytest.mark.parametrize("task", sorted(FORMS))
def test_every_field_of_every_task_form_has_a_label_for_its_control(task: str) -> None:
    html = render(build_form(schema(task)))
    ids = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html)
    assert ids and len(ids) == len(schema(task)["properties"])
    for control in ids:
        assert f'<label for="{control}">' in html, control
    assert '<input type="hidden" name="csrf_token" value="tok">' in html


def test_the_assessment_form_has_a_select_of_decisions_and_an_optional_comment() -> None:
    form = build_form(schema("assess_application"))
    decision, comment = form.fields
    assert (decision.widget, decision.required, decision.options) == (
        "select", True, ["approve", "reject", "request_info"])
    assert (comment.widget, comment.required, comment.nullable) == ("textarea", False, True)
    html = render(form)
    assert "approve, reject, or request info" in html  # the description is the hint
    assert 'aria-describedby="field-decision-hint"' in html
    assert re.search(r'<label for="field-decision">Decision <span class="required"', html)


def test_a_posted_assessment_round_trips_through_the_form_and_the_tasks_validation() -> None:
    posted = {"csrf_token": "tok", "decision": "approve", "comment": ""}
    data = parse_form(schema("assess_application"), posted)
    assert data == {"decision": "approve", "comment": None}
    assert validate_form("assess_application", data)["decision"] == "approve"
    again = build_form(schema("assess_application"), values=posted)
    assert again.fields[0].value == "approve"
    assert 'value="approve" selected' in render(again)


def test_the_submitted_value_and_the_fields_error_are_shown_next_to_it() -> None:
    posted = {"decision": "reject", "comment": "  "}
    with pytest.raises(FormError) as raised:
        validate_form("assess_application", parse_form(schema("assess_application"), posted))
    errors = [{"loc": ["body", e["field"]], "msg": e["message"]} for e in raised.value.errors]
    form = build_form(schema("assess_application"), values=posted, errors=errors)
    comment = form.fields[1]
    assert comment.error and form.has_errors
    html = render(form)
    assert 'id="field-comment-error"' in html
    assert 'aria-describedby="field-comment-hint field-comment-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="reject" selected' in html


def test_an_error_naming_no_field_is_the_forms_own() -> None:
    form = build_form(schema("assess_application"), errors=[{"loc": [], "msg": "The task was completed meanwhile."}])
    assert form.errors == ["The task was completed meanwhile."]
    assert "The task was completed meanwhile." in render(form)


def test_widgets_follow_the_schema_types_of_the_real_forms() -> None:
    widgets = {(task, f.name): f for task in FORMS for f in build_form(schema(task)).fields}
    kinds = {f.widget for f in widgets.values()}
    assert {"select", "textarea", "checkbox", "number", "date", "lines", "json", "text"} <= kinds
    for f in widgets.values():
        if f.widget == "json":
            assert "JSON" in f.hint
        if f.widget == "lines":
            assert "One per line" in f.hint


def _fields_of_widget(widget: str):  # type: ignore[no-untyped-def]
    return [(task, f) for task in sorted(FORMS) for f in build_form(schema(task)).fields if f.widget == widget]


def test_checkboxes_lines_numbers_and_empty_optionals_parse_into_typed_json() -> None:
    for task, f in _fields_of_widget("checkbox"):
        assert parse_form(schema(task), {f.name: "true"})[f.name] is True
        assert parse_form(schema(task), {})[f.name] is False
    task, lines = next((t, f) for t, f in _fields_of_widget("lines") if f.item_type == "date")
    assert parse_form(schema(task), {lines.name: "2027-02-08\r\n\r\n 2027-02-09 \n"})[lines.name] == [
        "2027-02-08", "2027-02-09"]
    task, integers = next((t, f) for t, f in _fields_of_widget("lines") if f.item_type == "integer")
    assert parse_form(schema(task), {integers.name: "3\n4"})[integers.name] == [3, 4]
    task, number = next((t, f) for t, f in _fields_of_widget("number") if f.attrs.get("step") == "1")
    assert parse_form(schema(task), {number.name: "5"})[number.name] == 5
    assert parse_form(schema(task), {number.name: "five"})[number.name] == "five"  # validation names it
    task, decimal = next((t, f) for t, f in _fields_of_widget("number") if f.decimal)
    assert parse_form(schema(task), {decimal.name: "550.50"})[decimal.name] == "550.50"
    if not decimal.required:
        assert parse_form(schema(task), {decimal.name: ""})[decimal.name] is None


def test_an_empty_required_field_is_left_out_so_that_validation_says_it_is_required() -> None:
    assert "decision" not in parse_form(schema("assess_application"), {"decision": ""})
    with pytest.raises(FormError) as raised:
        validate_form("assess_application", parse_form(schema("assess_application"), {"decision": ""}))
    assert any(e["field"] == "decision" for e in raised.value.errors)


def test_an_array_of_objects_is_a_json_textarea_that_round_trips() -> None:
    task, documents = next((t, f) for t, f in _fields_of_widget("json"))
    value = [{"a": 1, "b": "two"}]
    form = build_form(schema(task), values={documents.name: value})
    shown = next(f for f in form.fields if f.name == documents.name).value
    assert parse_form(schema(task), {documents.name: shown})[documents.name] == value
    assert parse_form(schema(task), {documents.name: "[not json"})[documents.name] == "[not json"


def test_signing_the_commitment_round_trips_and_an_unticked_box_is_refused_by_name() -> None:
    task = "sign_commitment_visitor"
    posted = {"csrf_token": "tok", "signed": "true", "signatory_name": "  Ana Silva "}
    data = parse_form(schema(task), posted)
    assert data == {"signed": True, "signatory_name": "Ana Silva"}
    assert validate_form(task, data)["signatory_name"] == "Ana Silva"
    html = render(build_form(schema(task), values=posted))
    assert re.search(r'<input type="checkbox" id="field-signed" name="signed" value="true" checked required', html)
    assert 'value="  Ana Silva "' in html  # the submitted value is kept as typed
    with pytest.raises(FormError) as raised:
        validate_form(task, parse_form(schema(task), {"signatory_name": "Ana"}))
    assert [e["field"] for e in raised.value.errors] == ["signed"]


def test_the_evidence_form_shows_typed_task_data_and_parses_it_back() -> None:
    task = "submit_evidence"
    values = {"attended_days": ["2027-02-08", "2027-02-09"], "feedback_rating": 4, "travel_costs": "120.50",
              "documents": [{"kind": "attendance", "name": "list.pdf"}]}
    form = build_form(schema(task), values=values)
    shown = {f.name: f.value for f in form.fields}
    assert shown["attended_days"] == "2027-02-08\n2027-02-09"
    assert shown["feedback_rating"] == "4"
    data = parse_form(schema(task), shown)
    assert data["attended_days"] == values["attended_days"]
    assert data["feedback_rating"] == 4 and data["travel_costs"] == "120.50"
    assert data["documents"] == values["documents"]
    assert data["feedback_comment"] is None and data["matchmaking_meetings"] is None
