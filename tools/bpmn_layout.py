"""Regenerate the diagram (BPMNDI) of a BPMN file from its semantic part.

The semantic part (lanes, flow nodes, sequence flows) is the source of truth; this dev tool rewrites
``<bpmndi:BPMNDiagram>`` so that the file opens cleanly in bpmn.io / Camunda Modeler:

* x: column = rank of the node by the longest path from the start, ignoring back edges (loops);
* y: the node's lane band, with extra rows inside a lane when several nodes share a column;
* boundary events sit on the bottom border of their host task;
* sequence flows are orthogonal; flows that loop back are routed through a channel under a row;
* labels of events, gateways and conditional flows get explicit bounds.

It also rewrites every flow node's ``<bpmn:incoming>`` / ``<bpmn:outgoing>`` from the sequence flows,
so an author only has to write ``<bpmn:sequenceFlow sourceRef targetRef>``.

Usage::

    python tools/bpmn_layout.py bpmn/*.bpmn          # rewrite in place
    python tools/bpmn_layout.py --check bpmn/*.bpmn  # exit 1 if a file's layout is out of date
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

# Shape sizes (bpmn-js defaults).
SIZES = {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}
ROW_H = 150          # height of one row inside a lane
ROW_CY = 60          # centre of the shapes, from the top of the row
CHANNEL_Y = 126      # first back-edge channel, from the top of the row
CHANNEL_STEP = 6
POOL_LABEL_W = 30    # vertical band with the participant's name
LANE_LABEL_W = 30    # vertical band with the lane's name
PAD_X = 40           # space between the lane label band and the first column
MIN_GAP = 60         # horizontal gap between columns
CHAR_W = 6.2         # average width of a character of a label (11 px sans-serif)
LINE_H = 14
EXTERNAL_LABEL_W = 90

TASK_TAGS = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask",
             "businessRuleTask", "callActivity", "subProcess"}
EVENT_TAGS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAY_TAGS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                "complexGateway"}
# Children of a flow node that must come before <incoming>/<outgoing> (BPMN XSD order).
LEADING_CHILDREN = {"documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef"}


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def kind_of(tag: str) -> str:
    if tag in TASK_TAGS:
        return "task"
    if tag in EVENT_TAGS:
        return "event"
    if tag in GATEWAY_TAGS:
        return "gateway"
    raise ValueError(f"unsupported flow node <bpmn:{tag}>")


@dataclass
class Node:
    id: str
    tag: str
    name: str
    lane: int
    element: etree._Element
    host: str | None = None          # boundary events: id of the task they are attached to
    rank: int = 0
    row: int = 0
    order: int = 0                   # discovery order (depth-first from the start)
    x: float = 0
    y: float = 0

    @property
    def kind(self) -> str:
        return kind_of(self.tag)

    @property
    def size(self) -> tuple[int, int]:
        return SIZES[self.kind]

    @property
    def w(self) -> int:
        return self.size[0]

    @property
    def h(self) -> int:
        return self.size[1]

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str
    element: etree._Element
    back: bool = False
    waypoints: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Lane:
    id: str
    name: str
    rows: int = 1
    y: float = 0

    @property
    def height(self) -> float:
        return self.rows * ROW_H


class Layout:
    """Computes and writes the diagram of one participant's process."""

    def __init__(self, tree: etree._ElementTree):
        self.tree = tree
        self.root = tree.getroot()
        self.collaboration = self._one("bpmn:collaboration")
        self.participant = self._one("bpmn:collaboration/bpmn:participant")
        pid = self.participant.get("processRef")
        self.process = self._one(f"bpmn:process[@id='{pid}']")
        self.lanes: list[Lane] = []
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.warnings: list[str] = []
        self._read()

    def _one(self, path: str) -> etree._Element:
        found = self.root.xpath(path, namespaces=NS)
        if len(found) != 1:
            raise ValueError(f"expected exactly one {path}, found {len(found)}")
        return found[0]

    # ---------------------------------------------------------------- reading

    def _read(self) -> None:
        lane_of: dict[str, int] = {}
        for index, lane in enumerate(self.process.xpath("bpmn:laneSet/bpmn:lane", namespaces=NS)):
            self.lanes.append(Lane(lane.get("id"), lane.get("name", "")))
            for ref in lane.xpath("bpmn:flowNodeRef", namespaces=NS):
                lane_of[ref.text.strip()] = index
        if not self.lanes:
            raise ValueError("the process has no lanes")
        for el in self.process:
            if not isinstance(el.tag, str):
                continue
            tag = local(el)
            if tag in TASK_TAGS | EVENT_TAGS | GATEWAY_TAGS:
                nid = el.get("id")
                if tag != "boundaryEvent" and nid not in lane_of:
                    raise ValueError(f"flow node {nid} is in no lane")
                self.nodes[nid] = Node(nid, tag, el.get("name", ""), lane_of.get(nid, -1), el,
                                       host=el.get("attachedToRef"))
            elif tag == "sequenceFlow":
                self.flows.append(Flow(el.get("id"), el.get("sourceRef"), el.get("targetRef"),
                                       el.get("name", ""), el))
        for node in self.nodes.values():
            if node.host:
                node.lane = self.nodes[node.host].lane
        for flow in self.flows:
            for end in (flow.source, flow.target):
                if end not in self.nodes:
                    raise ValueError(f"sequence flow {flow.id} refers to unknown node {end}")

    def outgoing(self, nid: str) -> list[Flow]:
        return [f for f in self.flows if f.source == nid]

    def incoming(self, nid: str) -> list[Flow]:
        return [f for f in self.flows if f.target == nid]

    def boundaries(self, nid: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.host == nid]

    # ----------------------------------------------------- incoming/outgoing

    def sync_references(self) -> None:
        """Rewrite <incoming>/<outgoing> of every flow node from the sequence flows."""
        for node in self.nodes.values():
            el = node.element
            for child in list(el):
                if isinstance(child.tag, str) and local(child) in ("incoming", "outgoing"):
                    el.remove(child)
            position = 0
            for index, child in enumerate(el):
                if isinstance(child.tag, str) and local(child) in LEADING_CHILDREN:
                    position = index + 1
            refs = [("incoming", f.id) for f in self.incoming(node.id)]
            refs += [("outgoing", f.id) for f in self.outgoing(node.id)]
            for offset, (tag, fid) in enumerate(refs):
                ref = etree.Element(f"{{{BPMN}}}{tag}")
                ref.text = fid
                el.insert(position + offset, ref)

    # ------------------------------------------------------------ ranking

    def rank(self) -> None:
        """Mark back edges (depth-first from the start events) and rank by longest path."""
        starts = [n.id for n in self.nodes.values() if not n.host and not self.incoming(n.id)]
        state: dict[str, int] = {}   # 1 = on the stack, 2 = done
        order = 0

        def successors(nid: str) -> list[tuple[Flow | None, str]]:
            succ: list[tuple[Flow | None, str]] = [(f, f.target) for f in self.outgoing(nid)]
            succ += [(None, b.id) for b in self.boundaries(nid)]
            return succ

        for start in starts:
            if start in state:
                continue
            stack = [(start, iter(successors(start)))]
            state[start] = 1
            self.nodes[start].order = order
            order += 1
            while stack:
                nid, it = stack[-1]
                step = next(it, None)
                if step is None:
                    state[nid] = 2
                    stack.pop()
                    continue
                flow, target = step
                if state.get(target) == 1:
                    if flow is not None:
                        flow.back = True
                elif target not in state:
                    state[target] = 1
                    self.nodes[target].order = order
                    order += 1
                    stack.append((target, iter(successors(target))))
        unreached = [nid for nid in self.nodes if nid not in state]
        if unreached:
            raise ValueError(f"nodes not reachable from a start event: {', '.join(unreached)}")

        # Longest path over the acyclic graph (forward flows + host -> boundary with length 0).
        ranks = {nid: 0 for nid in self.nodes}
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                if node.host and ranks[node.id] != ranks[node.host]:
                    ranks[node.id] = ranks[node.host]
                    changed = True
            for flow in self.flows:
                if not flow.back and ranks[flow.target] < ranks[flow.source] + 1:
                    ranks[flow.target] = ranks[flow.source] + 1
                    changed = True
        for nid, r in ranks.items():
            self.nodes[nid].rank = r

    # ------------------------------------------------------ rows in lanes

    def assign_rows(self) -> None:
        occupied: set[tuple[int, int, int]] = set()   # (lane, row, rank)
        placed = sorted((n for n in self.nodes.values() if not n.host), key=lambda n: (n.rank, n.order))
        for node in placed:
            preds = [self.nodes[f.source] for f in self.incoming(node.id) if not f.back]
            preds = [self.nodes[p.host] if p.host else p for p in preds]
            preferred = [p.row for p in preds if p.lane == node.lane]
            candidates = preferred + [r for r in range(len(self.nodes)) if r not in preferred]
            for row in candidates:
                cells = {(node.lane, row, node.rank)}
                for pred in preds:
                    cells |= {(node.lane, row, r) for r in range(pred.rank + 1, node.rank)}
                if not cells & occupied:
                    node.row = row
                    occupied |= cells
                    break
        for index, lane in enumerate(self.lanes):
            rows = [n.row for n in placed if n.lane == index]
            lane.rows = max(rows) + 1 if rows else 1

    # --------------------------------------------------------- coordinates

    def place(self) -> None:
        plain = [n for n in self.nodes.values() if not n.host]
        ranks = max(n.rank for n in plain) + 1
        widths = [max((n.w for n in plain if n.rank == r), default=36) for r in range(ranks)]
        gaps = [MIN_GAP] * ranks
        for flow in self.flows:
            if flow.name and not flow.back:
                source = self.nodes[flow.source]
                gaps[source.rank] = max(gaps[source.rank], int(text_width(flow.name) + 45))
        px, py = 0, 0
        col_x, x = [], px + POOL_LABEL_W + LANE_LABEL_W + PAD_X
        for r in range(ranks):
            col_x.append(x)
            x += widths[r] + gaps[r]
        width = x - gaps[-1] + PAD_X - px
        y = py
        for lane in self.lanes:
            lane.y = y
            y += lane.height
        self.pool = (px, py, width, y - py)
        for node in plain:
            lane = self.lanes[node.lane]
            node.x = col_x[node.rank] + (widths[node.rank] - node.w) / 2
            node.y = lane.y + node.row * ROW_H + ROW_CY - node.h / 2
        for host_id in {n.host for n in self.nodes.values() if n.host}:
            host = self.nodes[host_id]
            for index, b in enumerate(sorted(self.boundaries(host_id), key=lambda n: n.order)):
                b.x = host.x + 8 + index * 46
                b.y = host.bottom - b.h / 2
        self.col_x, self.widths, self.gaps = col_x, widths, gaps

    # ------------------------------------------------------------ routing

    def shapes(self) -> list[Node]:
        return list(self.nodes.values())

    def crossings(self, points: list[tuple[float, float]], ignore: set[str]) -> int:
        count = 0
        for (x1, y1), (x2, y2) in pairwise(points):
            for shape in self.shapes():
                if shape.id in ignore:
                    continue
                m = 2
                left, right, top, bottom = shape.x + m, shape.right - m, shape.y + m, shape.bottom - m
                if y1 == y2 and top < y1 < bottom and min(x1, x2) < right and max(x1, x2) > left:
                    count += 1
                elif x1 == x2 and left < x1 < right and min(y1, y2) < bottom and max(y1, y2) > top:
                    count += 1
        return count

    def route(self) -> None:
        channel_use: dict[tuple[int, int], int] = {}
        gap_use: dict[tuple[int, str], int] = {}   # (column, source) -> track in the gap after it
        ports: dict[tuple[float, float], set[bool]] = {}   # attachment point -> kinds (back or not)

        def shared(points, back):
            """A forward and a back flow leaving or entering through the same point read as one."""
            ends = [(round(p[0]), round(p[1])) for p in (points[0], points[-1])]
            return sum(1 for p in ends if (not back) in ports.get(p, set()))

        # Back edges first: they have fewer options, forward flows avoid their attachment points.
        for flow in sorted(self.flows, key=lambda f: not f.back):
            a, b = self.nodes[flow.source], self.nodes[flow.target]
            ignore = {a.id, b.id} | ({a.host} if a.host else set())
            options = self._back_options(a, b, channel_use) if flow.back else self._forward_options(a, b, gap_use)
            best = min(options, key=lambda o: (self.crossings(o[1], ignore) + shared(o[1], flow.back),
                                               options.index(o)))
            if self.crossings(best[1], ignore):
                self.warnings.append(f"{flow.id}: crosses {self.crossings(best[1], ignore)} shape(s)")
            key, points = best
            for p in (points[0], points[-1]):
                ports.setdefault((round(p[0]), round(p[1])), set()).add(flow.back)
            if key is not None:
                channel_use[key] = channel_use.get(key, 0) + 1
            flow.waypoints = simplify(points)

    def _forward_options(self, a: Node, b: Node, gap_use: dict) -> list:
        """Candidate routes of a forward flow, best first (the least crossing one wins)."""
        options = []
        if a.host:   # boundary event: leave through the bottom
            host = self.nodes[a.host]
            margin = self.lanes[host.lane].y + host.row * ROW_H + CHANNEL_Y - CHANNEL_STEP
            xg = self.col_x[host.rank] + self.widths[host.rank] + min(self.gaps[host.rank] / 2, 20)
            options.append((None, [(a.cx, a.bottom), (a.cx, b.cy), (b.x, b.cy)]))
            options.append((None, [(a.cx, a.bottom), (a.cx, margin), (xg, margin), (xg, b.cy), (b.x, b.cy)]))
            return options
        if a.cy == b.cy:
            options.append((None, [(a.right, a.cy), (b.x, b.cy)]))
        if a.kind == "gateway" and a.cy != b.cy:
            ay = a.bottom if b.cy > a.cy else a.y
            options.append((None, [(a.cx, ay), (a.cx, b.cy), (b.x, b.cy)]))
        if b.kind == "gateway" and a.cy != b.cy:
            by = b.y if a.cy < b.cy else b.bottom
            options.append((None, [(a.right, a.cy), (b.cx, a.cy), (b.cx, by)]))
        if a.cy != b.cy:
            gap = a.rank
            # Flows from the same source share their track: they fork at one vertical line.
            track = gap_use.setdefault((gap, a.id), len([k for k in gap_use if k[0] == gap]))
            start = self.col_x[a.rank] + self.widths[a.rank]
            xg = start + min(self.gaps[a.rank] / 2, 20) + (track % 4) * 8
            options.append((None, [(a.right, a.cy), (xg, a.cy), (xg, b.cy), (b.x, b.cy)]))
            ay = a.bottom if b.cy > a.cy else a.y
            options.append((None, [(a.cx, ay), (a.cx, b.cy), (b.x, b.cy)]))
        return options

    def _back_options(self, a: Node, b: Node, channel_use: dict) -> list:
        """Routes of a loop: out of the source, along a channel under a row, into the target."""
        options = []
        rows = {(a.lane, a.row), (b.lane, b.row)}
        # A channel under the lower of the two rows first, then under the other one.
        ordered = sorted(rows, key=lambda lr: self.lanes[lr[0]].y + lr[1] * ROW_H, reverse=True)
        for lane_index, row in ordered:
            use = channel_use.get((lane_index, row), 0)
            cy = self.lanes[lane_index].y + row * ROW_H + CHANNEL_Y + use * CHANNEL_STEP
            ay = a.bottom if cy > a.cy else a.y
            by = b.bottom if cy > b.cy else b.y
            options.append(((lane_index, row), [(a.cx, ay), (a.cx, cy), (b.cx, cy), (b.cx, by)]))
        return options

    # -------------------------------------------------------------- labels

    def label_bounds(self) -> dict[str, tuple[float, float, float, float]]:
        labels: dict[str, tuple[float, float, float, float]] = {}
        used: dict[str, set[str]] = {nid: set() for nid in self.nodes}
        for flow in self.flows:
            for nid, point in ((flow.source, flow.waypoints[0]), (flow.target, flow.waypoints[-1])):
                node = self.nodes[nid]
                if point[1] <= node.y + 1:
                    used[nid].add("top")
                elif point[1] >= node.bottom - 1:
                    used[nid].add("bottom")
        for node in self.nodes.values():
            if node.kind == "task" or not node.name:
                continue
            w, h = wrap(node.name)
            # Events: below, gateways: above, unless a flow uses that side; then the other side,
            # and right of the vertical flow when both sides are used.
            sides = ["bottom", "top"] if node.kind == "event" else ["top", "bottom"]
            free = [side for side in sides if side not in used[node.id]]
            if node.host:
                siblings = sorted(self.boundaries(node.host), key=lambda n: n.order)
                # Left of the flow leaving the event, except for the last of several boundary events.
                left = len(siblings) == 1 or siblings.index(node) < len(siblings) - 1
                labels[node.id] = (node.cx - 6 - w if left else node.cx + 6, node.bottom + 2, w, h)
            elif free and free[0] == "bottom":
                labels[node.id] = (node.cx - w / 2, node.bottom + 4, w, h)
            elif free:
                labels[node.id] = (node.cx - w / 2, node.y - h - 4, w, h)
            else:
                labels[node.id] = (node.cx + 8, node.y - h - 4, w, h)
        for flow in self.flows:
            if not flow.name:
                continue
            # Above the last horizontal segment (the one entering the target): never shared.
            w, h = text_width(flow.name), LINE_H
            if flow.back:   # next to the source, right of the first (vertical) segment
                (x1, y1), (x2, y2) = flow.waypoints[0], flow.waypoints[1]
                y = y1 + 4 if y2 > y1 else y1 - h - 4
                labels[flow.id] = (x1 + 6, y, w, h)
                continue
            (x1, y1), (x2, y2) = flow.waypoints[-2], flow.waypoints[-1]
            if y1 == y2:
                labels[flow.id] = (min(x1, x2) + 6, y1 - h - 3, w, h)
            else:
                labels[flow.id] = (x1 + 6, (y1 + y2) / 2 - h / 2, w, h)
        return labels

    # -------------------------------------------------------------- writing

    def write_di(self) -> None:
        for old in self.root.xpath("bpmndi:BPMNDiagram", namespaces=NS):
            self.root.remove(old)
        diagram = etree.SubElement(self.root, f"{{{BPMNDI}}}BPMNDiagram", id=f"{self.process.get('id')}_diagram")
        plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"{self.process.get('id')}_plane",
                                 bpmnElement=self.collaboration.get("id"))
        labels = self.label_bounds()
        px, py, pw, ph = self.pool
        shape(plane, self.participant.get("id"), (px, py, pw, ph), horizontal=True)
        for lane in self.lanes:
            shape(plane, lane.id, (px + POOL_LABEL_W, lane.y, pw - POOL_LABEL_W, lane.height), horizontal=True)
        for node in sorted(self.nodes.values(), key=lambda n: (n.host is not None, n.order)):
            s = shape(plane, node.id, (node.x, node.y, node.w, node.h), label=labels.get(node.id),
                      marker=node.tag == "exclusiveGateway")
            if node.host is None and node.tag == "subProcess":
                s.set("isExpanded", "false")
        for flow in self.flows:
            edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.id}_di", bpmnElement=flow.id)
            for x, y in flow.waypoints:
                etree.SubElement(edge, f"{{{DI}}}waypoint", x=fmt(x), y=fmt(y))
            if flow.id in labels:
                add_label(edge, labels[flow.id])

    def run(self) -> list[str]:
        self.sync_references()
        self.rank()
        self.assign_rows()
        self.place()
        self.route()
        self.write_di()
        return self.warnings


def fmt(value: float) -> str:
    return str(int(round(value)))


def text_width(text: str) -> float:
    return round(len(text) * CHAR_W + 4)


def wrap(text: str, width: int = EXTERNAL_LABEL_W) -> tuple[float, float]:
    """Size of an external label wrapped like bpmn-js does (words on lines of at most `width`)."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return max(text_width(line) for line in lines), len(lines) * LINE_H


def shape(plane, element_id, bounds, label=None, horizontal=False, marker=False):
    s = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{element_id}_di", bpmnElement=element_id)
    if horizontal:
        s.set("isHorizontal", "true")
    if marker:
        s.set("isMarkerVisible", "true")
    x, y, w, h = bounds
    etree.SubElement(s, f"{{{DC}}}Bounds", x=fmt(x), y=fmt(y), width=fmt(w), height=fmt(h))
    if label:
        add_label(s, label)
    return s


def add_label(parent, bounds):
    label = etree.SubElement(parent, f"{{{BPMNDI}}}BPMNLabel")
    x, y, w, h = bounds
    etree.SubElement(label, f"{{{DC}}}Bounds", x=fmt(x), y=fmt(y), width=fmt(w), height=fmt(h))


def simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop repeated points and middle points of straight runs."""
    out: list[tuple[float, float]] = []
    for p in points:
        p = (round(p[0]), round(p[1]))
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return out


def layout_file(path: Path) -> tuple[bytes, list[str]]:
    """Return the laid-out content of `path` and the layout warnings."""
    parser = etree.XMLParser(remove_blank_text=True)
    tree = etree.parse(str(path), parser)
    warnings = Layout(tree).run()
    etree.indent(tree, space="  ")
    content = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return content, warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report files whose layout is out of date")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        content, warnings = layout_file(path)
        for warning in warnings:
            print(f"{path}: warning: {warning}", file=sys.stderr)
        if args.check:
            if path.read_bytes() != content:
                print(f"{path}: diagram out of date (run tools/bpmn_layout.py {path})", file=sys.stderr)
                status = 1
        else:
            path.write_bytes(content)
    return status


if __name__ == "__main__":
    sys.exit(main())
