"""The diagrams (BPMNDI) open cleanly: shapes inside their lanes, orthogonal edges attached to borders."""
from __future__ import annotations

import subprocess
import sys
from itertools import pairwise

import pytest
from lxml import etree

from tests.bpmn.harness import BPMN_DIR, BPMN_FILES

ROOT = BPMN_DIR.parent
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}


def bounds(shape):
    (b,) = shape.xpath("dc:Bounds", namespaces=NS)
    x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def on_border(point, box) -> bool:
    x, y = point
    left, top, right, bottom = box
    inside = left - 1 <= x <= right + 1 and top - 1 <= y <= bottom + 1
    # Gateways are diamonds: their corners are the middles of the bounding box's sides.
    return inside and (min(abs(x - left), abs(x - right)) <= 1 or min(abs(y - top), abs(y - bottom)) <= 1)


@pytest.fixture(params=BPMN_FILES, ids=lambda p: p.name)
def document(request):
    return etree.parse(str(request.param)).getroot()


def test_every_shape_lies_inside_its_lane(document):
    shapes = {s.get("bpmnElement"): bounds(s) for s in document.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    for lane in document.xpath("//bpmn:lane", namespaces=NS):
        l_left, l_top, l_right, l_bottom = shapes[lane.get("id")]
        for ref in lane.xpath("bpmn:flowNodeRef", namespaces=NS):
            left, top, right, bottom = shapes[ref.text]
            assert l_left < left and right < l_right and l_top < top and bottom < l_bottom, (
                f"{ref.text} is drawn outside lane {lane.get('name')}"
            )


def test_edges_are_orthogonal_and_attached_to_their_shapes(document):
    shapes = {s.get("bpmnElement"): bounds(s) for s in document.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    for flow in document.xpath("//bpmn:sequenceFlow", namespaces=NS):
        (edge,) = document.xpath(f"//bpmndi:BPMNEdge[@bpmnElement='{flow.get('id')}']", namespaces=NS)
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.xpath("di:waypoint", namespaces=NS)]
        assert len(points) >= 2
        for (x1, y1), (x2, y2) in pairwise(points):
            assert x1 == x2 or y1 == y2, f"{flow.get('id')} has a diagonal segment"
        assert on_border(points[0], shapes[flow.get("sourceRef")]), f"{flow.get('id')} leaves from inside its source"
        assert on_border(points[-1], shapes[flow.get("targetRef")]), f"{flow.get('id')} ends inside its target"


def test_diagrams_are_up_to_date_with_the_layout_tool():
    result = subprocess.run(
        [sys.executable, "tools/bpmn_layout.py", "--check", *map(str, BPMN_FILES)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
