"""The ids, variables, messages and timers that the engine and the services rely on."""
from __future__ import annotations

import ast

import pytest
from lxml import etree

from tests.bpmn.harness import BPMN_DIR

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
VP, HP = "visitor_partnership_id", "host_partnership_id"

CONTRACT = {
    "exchange": {
        "lanes": ["Visitor", "Host", "Officer", "Finance", "System"],
        "user_tasks": {
            "assess_application": ("Officer", VP, None),
            "provide_information": ("Visitor", VP, "info_deadline"),
            "visitor_accept_match": ("Visitor", VP, None),
            "host_accept_match": ("Host", "match['host_partnership_id']", None),
            "agree_commitment": ("Visitor", VP, None),
            "sign_commitment_visitor": ("Visitor", VP, "signatures_due"),
            "sign_commitment_host": ("Host", HP, "signatures_due"),
            "sign_commitment_visitor_officer": ("Officer", VP, "signatures_due"),
            "sign_commitment_host_officer": ("Officer", HP, "signatures_due"),
            "host_consent_extension": ("Host", HP, "extension_consent_due"),
            "decide_extension": ("Officer", VP, None),
            "submit_evidence": ("Visitor", VP, "evidence_due_at"),
            "validate_evidence": ("Officer", VP, None),
            "approve_payment": ("Officer", VP, None),
            "correct_bank_details": ("Visitor", VP, None),
            "verify_bank_details": ("Finance", VP, None),
        },
        "operations": {
            "check_eligibility", "notify_ineligible", "notify_rejected", "request_information", "notify_withdrawn",
            "register_for_matching", "notify_not_matched", "record_match_answers", "check_commitment",
            "start_visit", "apply_extension", "record_cancellation", "open_evidence_window",
            "send_evidence_reminder", "escalate_overdue_evidence", "compute_working_days",
            "notify_correction_needed", "compute_grant", "close_without_grant", "commit_budget", "queue_claim",
            "record_payment", "close_exchange", "requeue_claim",
        },
        "messages": {
            "match_proposed": ("match_proposed", "match"),
            "extension_requested": ("extension_requested", "extension"),
            "cancellation_requested": ("cancellation_requested", "cancellation"),
            "payment_confirmed": ("payment_confirmed", "payment"),
            "payment_rejected": ("payment_rejected", "payment_rejection"),
            "budget_available": ("budget_available", "budget_release"),
        },
        "timers": {
            "info_timeout": ("timeDate", "info_deadline", "interrupting"),
            "matching_deadline_passed": ("timeDate", "matching_deadline", None),
            "visit_ended": ("timeDate", "visit_end", None),
            "evidence_reminder": ("timeDate", "evidence_reminder_at", "non-interrupting"),
            "evidence_overdue": ("timeDate", "evidence_due_at", "non-interrupting"),
        },
        "ends": {
            "end_ineligible", "end_rejected", "end_withdrawn", "end_not_matched", "end_reminder_sent",
            "end_overdue_escalated", "end_closed_without_grant", "end_closed",
        },
    },
    "call": {
        "lanes": ["Administrator", "Officer", "System"],
        "user_tasks": {
            "prepare_call": ("Administrator", "partnership_id", None),
            "review_proposals": ("Officer", "partnership_id", None),
        },
        "operations": {
            "publish_call", "open_call", "run_matching", "send_proposals", "plan_next_round",
            "check_exchanges_ended", "build_call_report",
        },
        "messages": {},
        "timers": {
            "call_opens": ("timeDate", "opens_at", None),
            "marketplace_closes": ("timeDate", "next_matching_at", None),
            "exchanges_poll": ("timeDuration", '"P7D"', None),
        },
        "ends": {"end_call_closed"},
    },
    "hosting": {
        "lanes": ["Host", "Officer", "System"],
        "user_tasks": {"approve_host": ("Officer", HP, None)},
        "operations": {"check_host_eligibility", "notify_host_ineligible", "notify_host_rejected", "publish_offer"},
        "messages": {},
        "timers": {},
        "ends": {"end_ineligible", "end_rejected", "end_published"},
    },
    "registration": {
        "lanes": ["Applicant", "Officer", "System"],
        "user_tasks": {"assess_registration": ("Officer", "partnership_id", None),
                       "answer_registration_question": ("Applicant", "partnership_id", None)},
        "operations": {"approve_registration", "reject_registration", "request_registration_information",
                       "record_registration_answer"},
        "messages": {},
        "timers": {},
        "ends": {"end_approved", "end_rejected"},
    },
}

FLOW_NODES = (
    "startEvent", "endEvent", "intermediateCatchEvent", "boundaryEvent", "userTask", "serviceTask",
    "exclusiveGateway", "parallelGateway", "eventBasedGateway",
)


class Diagram:
    def __init__(self, process_id: str):
        self.root = etree.parse(str(BPMN_DIR / f"{process_id}.bpmn")).getroot()
        (self.process,) = self.xpath(f"bpmn:process[@id='{process_id}']")
        self.lane_of = {
            ref.text: lane.get("name")
            for lane in self.process.xpath("bpmn:laneSet/bpmn:lane", namespaces=NS)
            for ref in lane.xpath("bpmn:flowNodeRef", namespaces=NS)
        }

    def xpath(self, path: str, node=None):
        return (self.root if node is None else node).xpath(path, namespaces=NS)

    def nodes(self, *tags: str):
        return [el for tag in tags for el in self.xpath(f"bpmn:{tag}", self.process)]


@pytest.fixture(scope="module", params=sorted(CONTRACT))
def diagram(request):
    return request.param, Diagram(request.param), CONTRACT[request.param]


def test_process_is_executable_and_drawn_in_one_pool_with_its_lanes(diagram):
    pid, d, contract = diagram
    assert d.process.get("isExecutable") == "true"
    (participant,) = d.xpath("bpmn:collaboration/bpmn:participant")
    assert participant.get("processRef") == pid
    assert [lane.get("name") for lane in d.xpath("bpmn:laneSet/bpmn:lane", d.process)] == contract["lanes"]
    (plane,) = d.xpath("bpmndi:BPMNDiagram/bpmndi:BPMNPlane")
    assert plane.get("bpmnElement") == d.xpath("bpmn:collaboration")[0].get("id")


def test_every_flow_node_is_named_and_in_a_lane(diagram):
    _, d, _ = diagram
    for node in d.nodes(*FLOW_NODES):
        assert (node.get("name") or "").strip(), f"{node.get('id')} has no name"
        if node.tag.endswith("boundaryEvent"):
            continue
        assert node.get("id") in d.lane_of, f"{node.get('id')} is in no lane"


def test_user_tasks_carry_their_lane_partnership_and_due_date(diagram):
    _, d, contract = diagram
    found = {}
    for task in d.nodes("userTask"):
        props = {p.get("name"): p.get("value") for p in d.xpath(".//spiffworkflow:property", task)}
        assert set(props) <= {"partnership", "due", "reminders"}, task.get("id")
        # a task the process chases itself (its own reminder and escalation timers) says so
        assert props.get("reminders") in (None, "process"), task.get("id")
        if props.get("reminders"):
            assert any(b.get("attachedToRef") == task.get("id") for b in d.nodes("boundaryEvent")), task.get("id")
        found[task.get("id")] = (d.lane_of[task.get("id")], props.get("partnership"), props.get("due"))
    assert found == contract["user_tasks"]


def test_service_tasks_name_their_operation_and_run_in_the_system_lane(diagram):
    _, d, contract = diagram
    operations = set()
    for task in d.nodes("serviceTask"):
        (operator,) = d.xpath("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", task)
        op = operator.get("id")
        operations.add(op)
        # SpiffWorkflow 3.2 indexes every element by its id attribute, the operator's included:
        # a task whose id equals its operation name is shadowed by its own operator.
        assert task.get("id") == f"svc_{op}"
        assert operator.get("resultVariable") == f"{op}_result"
        assert d.lane_of[task.get("id")] == "System"
    assert operations == contract["operations"]


def test_message_events_name_their_message_and_payload_variable(diagram):
    _, d, contract = diagram
    names = {m.get("id"): m.get("name") for m in d.xpath("bpmn:message")}
    found = {}
    for event in d.nodes("intermediateCatchEvent", "boundaryEvent", "startEvent"):
        for definition in d.xpath("bpmn:messageEventDefinition", event):
            (variable,) = d.xpath("bpmn:extensionElements/spiffworkflow:messageVariable", definition)
            found[event.get("id")] = (names[definition.get("messageRef")], variable.text)
    assert found == contract["messages"]


def test_timers_name_the_variable_or_duration_they_wait_for(diagram):
    _, d, contract = diagram
    found = {}
    for event in d.nodes("intermediateCatchEvent", "boundaryEvent"):
        for definition in d.xpath("bpmn:timerEventDefinition", event):
            (expression,) = definition
            kind = etree.QName(expression).localname
            boundary = None
            if event.get("attachedToRef"):
                boundary = "non-interrupting" if event.get("cancelActivity") == "false" else "interrupting"
            found[event.get("id")] = (kind, expression.text, boundary)
    assert found == contract["timers"]


def test_end_events_are_the_outcomes(diagram):
    _, d, contract = diagram
    assert {e.get("id") for e in d.nodes("endEvent")} == contract["ends"]


def test_gateway_conditions_are_plain_comparisons_of_process_variables(diagram):
    _, d, _ = diagram
    allowed = (ast.Expression, ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Eq, ast.Gt)
    for condition in d.xpath(".//bpmn:conditionExpression", d.process):
        tree = ast.parse(condition.text, mode="eval")
        odd = [type(n).__name__ for n in ast.walk(tree) if not isinstance(n, allowed)]
        assert not odd, f"{condition.getparent().get('id')}: {condition.text!r} uses {odd}"
    assert not d.nodes("scriptTask"), "no logic in scripts: use a service task"
