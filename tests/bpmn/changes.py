"""Changed versions of the BPMN processes, made from the shipped files for the migration tests.

Each change is an edit of the XML a modeller would make in bpmn.io, diagram (BPMNDI) included, so that
a changed file still parses, passes bpmnlint and opens in a viewer:

* `relabel`: a task gets another name (its id, form and lane stay);
* `bypass`: a task with one way in and one way out is taken out, its incoming flow now leads to
  where its outgoing flow went;
* `milestone`: a none intermediate throw event ("a milestone", doing nothing) is put in the middle of
  a sequence flow — an added element that shifts the flow around it.
"""
from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from pathlib import Path

from lxml import etree

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
Edit = Callable[[etree._ElementTree], None]


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _one(tree: etree._ElementTree, xpath: str, **values: str) -> etree._Element:
    found = tree.xpath(xpath, namespaces=NS, **values)
    assert len(found) == 1, f"{xpath} {values}: {len(found)} found"
    return found[0]


def _by_id(tree: etree._ElementTree, element_id: str) -> etree._Element:
    return _one(tree, "//*[@id=$id]", id=element_id)


def _shape(tree: etree._ElementTree, element_id: str) -> etree._Element:
    return _one(tree, "//bpmndi:BPMNShape[@bpmnElement=$id]", id=element_id)


def _edge(tree: etree._ElementTree, flow_id: str) -> etree._Element:
    return _one(tree, "//bpmndi:BPMNEdge[@bpmnElement=$id]", id=flow_id)


def _refs(tree: etree._ElementTree, tag: str, value: str) -> list[etree._Element]:
    return tree.xpath(f"//bpmn:{tag}[text()=$v]", namespaces=NS, v=value)


def relabel(task_id: str, name: str) -> Edit:
    def edit(tree: etree._ElementTree) -> None:
        _by_id(tree, task_id).set("name", name)
    return edit


def bypass(task_id: str) -> Edit:
    """Take out `task_id` (one incoming and one outgoing flow, no boundary event): its incoming flow
    now goes where its outgoing flow went."""
    def edit(tree: etree._ElementTree) -> None:
        task = _by_id(tree, task_id)
        (incoming,) = [e.text for e in task.findall(_q("bpmn", "incoming"))]
        (outgoing,) = [e.text for e in task.findall(_q("bpmn", "outgoing"))]
        assert not tree.xpath("//bpmn:boundaryEvent[@attachedToRef=$id]", namespaces=NS, id=task_id)
        flow_in, flow_out = _by_id(tree, incoming), _by_id(tree, outgoing)
        target = flow_out.get("targetRef")
        flow_in.set("targetRef", target)
        for ref in _refs(tree, "incoming", outgoing):
            ref.text = incoming
        edge_in, edge_out = _edge(tree, incoming), _edge(tree, outgoing)
        points = edge_in.findall(_q("di", "waypoint"))
        last = edge_out.findall(_q("di", "waypoint"))[-1]
        for point in points[2:]:
            edge_in.remove(point)
        corner = etree.Element(_q("di", "waypoint"), x=points[1].get("x"), y=last.get("y"))
        points[1].addnext(corner)
        corner.addnext(deepcopy(last))
        for gone in (task, flow_out, _shape(tree, task_id), edge_out, *_refs(tree, "flowNodeRef", task_id)):
            gone.getparent().remove(gone)
    return edit


def milestone(flow_id: str, event_id: str, name: str) -> Edit:
    """Put a none intermediate throw event `event_id` in the middle of the sequence flow `flow_id`,
    on its diagram's first segment."""
    def edit(tree: etree._ElementTree) -> None:
        flow = _by_id(tree, flow_id)
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        new_flow = f"flow_{event_id}_to_{target}"
        event = etree.Element(_q("bpmn", "intermediateThrowEvent"), id=event_id, name=name)
        etree.SubElement(event, _q("bpmn", "incoming")).text = flow_id
        etree.SubElement(event, _q("bpmn", "outgoing")).text = new_flow
        flow.addnext(event)
        flow.set("targetRef", event_id)
        event.addnext(etree.Element(_q("bpmn", "sequenceFlow"), id=new_flow, sourceRef=event_id, targetRef=target))
        for ref in tree.xpath("//bpmn:incoming[text()=$v]", namespaces=NS, v=flow_id):
            if ref.getparent().get("id") == target:
                ref.text = new_flow
        lane = tree.xpath("//bpmn:lane[bpmn:flowNodeRef[text()=$v]]", namespaces=NS, v=source)
        if lane:
            etree.SubElement(lane[0], _q("bpmn", "flowNodeRef")).text = event_id
        # the diagram: the event on the middle of the edge's longest segment, the edge cut in two
        edge = _edge(tree, flow_id)
        points = edge.findall(_q("di", "waypoint"))
        pairs = list(zip(points, points[1:], strict=False))
        a, b = max(pairs, key=lambda p: abs(float(p[1].get("x")) - float(p[0].get("x")))
                   + abs(float(p[1].get("y")) - float(p[0].get("y"))))
        cx = (float(a.get("x")) + float(b.get("x"))) / 2
        cy = (float(a.get("y")) + float(b.get("y"))) / 2
        shape = etree.Element(_q("bpmndi", "BPMNShape"), id=f"{event_id}_di", bpmnElement=event_id)
        etree.SubElement(shape, _q("dc", "Bounds"), x=f"{cx - 18:g}", y=f"{cy - 18:g}", width="36", height="36")
        label = etree.SubElement(shape, _q("bpmndi", "BPMNLabel"))
        etree.SubElement(label, _q("dc", "Bounds"), x=f"{cx - 40:g}", y=f"{cy + 22:g}", width="80", height="27")
        edge.addprevious(shape)
        horizontal = a.get("y") == b.get("y")
        cut = points.index(b)
        new_edge = etree.Element(_q("bpmndi", "BPMNEdge"), id=f"{new_flow}_di", bpmnElement=new_flow)
        etree.SubElement(new_edge, _q("di", "waypoint"),
                         x=f"{cx + 18:g}" if horizontal else f"{cx:g}", y=f"{cy:g}" if horizontal else f"{cy + 18:g}")
        for point in points[cut:]:
            new_edge.append(deepcopy(point))
            edge.remove(point)
        points[cut - 1].addnext(etree.Element(
            _q("di", "waypoint"), x=f"{cx - 18:g}" if horizontal else f"{cx:g}",
            y=f"{cy:g}" if horizontal else f"{cy - 18:g}"))
        edge.addnext(new_edge)
    return edit


def changed(filename: str, *edits: Edit) -> bytes:
    """The shipped `bpmn/<filename>` with `edits` applied, as bytes."""
    tree = etree.parse(str(BPMN_DIR / filename))
    for edit in edits:
        edit(tree)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


# The changed versions the migration tests deploy: for each process, a relabelled user task, an added
# element, and (exchange, call) a user task taken out, so that an instance waiting on it cannot move.
CHANGES: dict[str, tuple[Edit, ...]] = {
    "exchange": (
        relabel("validate_evidence", "Check the evidence and the attended days"),
        milestone("flow_svc_start_visit_to_gw_visit_loop", "milestone_visit_started", "Visit started"),
        bypass("host_consent_extension"),
    ),
    "call": (
        relabel("prepare_call", "Prepare and check the call"),
        bypass("review_proposals"),
    ),
    "hosting": (
        relabel("approve_host", "Approve the host's offer"),
    ),
}
FILES = {"exchange": "exchange.bpmn", "call": "call.bpmn", "hosting": "hosting.bpmn"}
# what each change takes out: a step of a path on one of these no longer happens in the new version
REMOVED_USER_TASKS = {"exchange": {"host_consent_extension"}, "call": {"review_proposals"}, "hosting": set()}


def changed_process(process_id: str) -> bytes:
    return changed(FILES[process_id], *CHANGES[process_id])


def without_form() -> bytes:
    """The exchange whose evidence validation has another id, one no form in tasks/forms.py has."""
    xml = changed("exchange.bpmn")
    for old, new in ((b'id="validate_evidence"', b'id="validate_all_evidence"'),
                     (b'bpmnElement="validate_evidence"', b'bpmnElement="validate_all_evidence"'),
                     (b">validate_evidence<", b">validate_all_evidence<"),
                     (b'Ref="validate_evidence"', b'Ref="validate_all_evidence"')):
        xml = xml.replace(old, new)
    return xml
