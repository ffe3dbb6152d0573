"""The foundation every page stands on, in a real chromium: the vendored htmx and bpmn-js load under
the Content-Security-Policy, an inline script is refused, and the diagram glue colours real steps of
the exchange process. Self-contained: a tiny Starlette app serves base.html and the static files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import bpmn
import workflows.web
from tasks.forms import FORMS
from workflows.services.access import Principal
from workflows.web.filters import install_filters
from workflows.web.forms import build_form
from workflows.web.security import SecurityHeadersMiddleware, csrf_token

WEB = Path(workflows.web.__file__).parent
EXCHANGE_BPMN = Path(bpmn.__file__).parent / "exchange.bpmn"
COMPLETED = ["start", "svc_check_eligibility"]
ACTIVE = ["assess_application"]
INCIDENT = ["svc_notify_ineligible"]

PAGE = """{% extends "base.html" %}
{% block title %}Instance EX-000012{% endblock %}
{% block head %}<link rel="stylesheet" href="/static/vendor/bpmn-js/assets/diagram-js.css">
<link rel="stylesheet" href="/static/vendor/bpmn-js/assets/bpmn-js.css">{% endblock %}
{% block content %}
<h1>Exchange EX-000012 <span class="badge badge-active">assessment</span></h1>
<div class="bpmn-diagram" id="diagram" data-xml-url="{{ xml_url }}"
     data-completed='{{ completed | tojson }}' data-active='{{ active | tojson }}'
     data-incident='{{ incident | tojson }}'></div>
<ul class="diagram-legend"><li class="legend-completed">Completed</li><li class="legend-active">Active</li>
<li class="legend-incident">Incident</li></ul>
<h2>Open tasks</h2>
<div class="table-wrap"><table>
<thead><tr><th>Task</th><th>Exchange</th><th>Organisation</th><th>Due</th><th class="number">Grant</th><th>Status</th></tr></thead>
<tbody>
<tr class="overdue"><td><a href="/tasks/1">Assess the application</a></td><td>EX-000012</td><td>Cluster Nord AB</td>
<td><span class="overdue-label">{{ due | localtime }} (overdue)</span></td><td class="number">{{ "1100" | eur }}</td><td><span class="badge badge-overdue">overdue</span></td></tr>
<tr><td><a href="/tasks/2">Validate the evidence</a></td><td>EX-000013</td><td>Hub Lisboa Lda</td>
<td>{{ due | localtime }}</td><td class="number">{{ "550.5" | eur }}</td><td><span class="badge badge-ready">ready</span></td></tr>
</tbody></table></div>
<h2>Assess the application</h2>
{% from "macros/form.html" import schema_form %}
{{ schema_form(form, action="/tasks/1/complete", csrf_token=csrf_token, submit="Complete the task") }}
{% endblock %}
{% block scripts %}<script src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" defer></script>
<script src="/static/diagram.js" defer></script>{% endblock %}
"""


def _foundation_app() -> Starlette:
    import datetime as dt

    env = install_filters(Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=True))
    template = env.from_string(PAGE)
    schema = FORMS["assess_application"].model_json_schema()
    officer = Principal(7, "officer.nord", "officer", 1, None, "Ingrid Larsson")

    async def instance(request: Request) -> HTMLResponse:
        xml_url = request.query_params.get("xml", "/diagram/exchange.bpmn")
        form = build_form(schema, values={"decision": "reject", "comment": ""},
                          errors=[{"loc": ["body", "comment"], "msg": "A comment is required when rejecting."}])
        return HTMLResponse(template.render(
            principal=officer, csrf_token=csrf_token(request), nav_active="inbox", xml_url=xml_url,
            completed=COMPLETED, active=ACTIVE, incident=INCIDENT, form=form,
            due=dt.datetime(2027, 2, 8, 9, 0, tzinfo=dt.UTC),
            flashes=[("success", "Task claimed: it is yours until you complete or release it.")]))

    async def diagram(request: Request) -> Response:
        return Response(EXCHANGE_BPMN.read_bytes(), media_type="application/xml")

    return Starlette(
        routes=[Route("/instances/12", instance), Route("/diagram/exchange.bpmn", diagram),
                Mount("/static", StaticFiles(directory=WEB / "static"), name="static")],
        middleware=[Middleware(SecurityHeadersMiddleware),
                    Middleware(SessionMiddleware, secret_key="test-" * 8, session_cookie="cxp_session")])


@pytest.fixture
def web_app() -> Starlette:
    for needed in ("vendor/htmx/htmx.min.js", "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"):
        assert (WEB / "static" / needed).is_file(), f"static/{needed} is missing: run make install (tools/vendor_assets.py)"
    return _foundation_app()


def _open(page: Any, url: str) -> list[str]:
    """Load `url`, recording every CSP violation the page reports; returns that (live) list."""
    page.add_init_script("window.__csp = [];"
                         "document.addEventListener('securitypolicyviolation', function (e) {"
                         " window.__csp.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')); });")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url)
    page.wait_for_selector("#diagram[data-state='ready'], #diagram[data-state='failed']")
    return problems


def test_the_vendored_htmx_and_bpmn_js_load_under_the_csp_and_an_inline_script_is_refused(
        page: Any, live_server: Any, screenshot: Any) -> None:
    problems = _open(page, f"{live_server.url}/instances/12")
    assert problems == []
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.BpmnJS") == "function"
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx injected no <style>
    assert page.evaluate("window.__csp") == []  # bpmn-js drew the diagram without any violation
    try:
        page.add_script_tag(content="window.__inlineRan = true;")
    except Exception:  # Playwright may report the refused script; what counts is that it did not run
        pass
    assert page.evaluate("window.__inlineRan === undefined")
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
    screenshot(page, "foundation-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls, not the page
    screenshot(page, "foundation-390")


def test_the_diagram_marks_completed_active_and_incident_steps_of_the_exchange_process(
        page: Any, live_server: Any) -> None:
    _open(page, f"{live_server.url}/instances/12")
    assert page.get_attribute("#diagram", "data-state") == "ready"
    for ids, marker in ((COMPLETED, "cxp-completed"), (ACTIVE, "cxp-active"), (INCIDENT, "cxp-incident")):
        for element in ids:
            classes = page.get_attribute(f'#diagram g.djs-element[data-element-id="{element}"]', "class")
            assert marker in classes.split(), (element, classes)
    unmarked = page.get_attribute('#diagram g.djs-element[data-element-id="gw_eligible"]', "class")
    assert not {"cxp-completed", "cxp-active", "cxp-incident"} & set(unmarked.split())


def test_a_diagram_that_cannot_be_fetched_says_so_in_a_sentence(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/instances/12?xml=/diagram/missing.bpmn")
    page.wait_for_selector("#diagram[data-state='failed']")
    text = page.inner_text("#diagram")
    assert "could not be shown" in text and "404" in text


def test_the_page_has_a_skip_link_the_role_navigation_and_a_sign_out_form_with_the_token(
        page: Any, live_server: Any) -> None:
    _open(page, f"{live_server.url}/instances/12")
    assert page.get_attribute("a.skip-link", "href") == "#content"
    assert page.locator("nav.mainnav a").all_inner_texts() == ["Inbox", "Exchanges", "Incidents", "Reports",
                                                               "Conflicts of interest"]
    assert page.get_attribute("nav.mainnav a[aria-current='page']", "href") == "/tasks"
    assert page.inner_text(".whoami .user-name") == "Ingrid Larsson"
    token = page.get_attribute("form.logout input[name='csrf_token']", "value")
    assert token and token == page.get_attribute("meta[name='csrf-token']", "content")
    assert page.get_attribute("#field-comment", "aria-describedby") == "field-comment-hint field-comment-error"
