"""A BPMN process diagram as static SVG, drawn from its diagram interchange (BPMNDI) coordinates, with
the completed path coloured: completed elements (and the flows between two of them) green, active ones
amber. No JavaScript: it shows in a PDF, a mail client or a browser offline."""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from html import escape

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DDI = "http://www.omg.org/spec/DD/20100524/DI"
DONE, ACTIVE, PLAIN = "#2f855a", "#d69e2e", "#52606d"
_EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
_GATEWAYS = ("exclusiveGateway", "parallelGateway", "eventBasedGateway", "inclusiveGateway")


def _kinds(root: object) -> dict[str, tuple[str, str]]:
    """Element id → (BPMN kind, name) for every element of the model."""
    found: dict[str, tuple[str, str]] = {}
    for element in root.iter():  # type: ignore[attr-defined]
        tag = element.tag
        if isinstance(tag, str) and tag.startswith(f"{{{BPMN}}}") and element.get("id"):
            found[element.get("id")] = (tag.split("}", 1)[1], element.get("name") or "")
    return found


def _flows(root: object) -> dict[str, tuple[str, str]]:
    return {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in root.iter(f"{{{BPMN}}}sequenceFlow")}  # type: ignore[attr-defined]


def diagram_svg(bpmn_xml: str, completed: Iterable[str] = (), active: Iterable[str] = (), scale: float = 0.5) -> str:
    """The diagram of `bpmn_xml` with `completed` and `active` element ids highlighted."""
    from lxml import etree

    root = etree.fromstring(bpmn_xml.encode("utf-8"))
    kinds, flows = _kinds(root), _flows(root)
    done, now = set(completed), set(active)
    parts: list[str] = []
    width = height = 0.0
    for shape in root.iter(f"{{{DI}}}BPMNShape"):
        bounds = shape.find(f"{{{DC}}}Bounds")
        x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        width, height = max(width, x + w), max(height, y + h)
        element = shape.get("bpmnElement")
        kind, name = kinds.get(element, ("", ""))
        colour = DONE if element in done else ACTIVE if element in now else PLAIN
        parts.append(_shape(kind, name, x, y, w, h, colour, element in done or element in now))
    for edge in root.iter(f"{{{DI}}}BPMNEdge"):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iter(f"{{{DDI}}}waypoint")]
        source, target = flows.get(edge.get("bpmnElement"), (None, None))
        colour = DONE if source in done and (target in done or target in now) else "#9aa5b1"
        path = " ".join(f"{x:g},{y:g}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'marker-end="url(#arrow)"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * scale:g}" height="{height * scale:g}" '
            f'viewBox="0 0 {width:g} {height:g}" font-family="Arial, Helvetica, sans-serif" font-size="12">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
            'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#52606d"/></marker></defs>'
            + "".join(parts) + "</svg>")


def _shape(kind: str, name: str, x: float, y: float, w: float, h: float, colour: str, highlighted: bool) -> str:
    fill = f'{colour}55' if highlighted else "white"
    label = escape(name)
    if kind in ("participant", "lane"):
        title = f'<text x="{x + 12:g}" y="{y + h / 2:g}" transform="rotate(-90 {x + 12:g} {y + h / 2:g})" ' \
                f'text-anchor="middle">{label}</text>'
        return f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="none" stroke="#cbd2d9"/>{title}'
    if kind in _EVENTS:
        r = w / 2
        ring = 3 if kind == "endEvent" else 1.5
        return (f'<circle cx="{x + r:g}" cy="{y + r:g}" r="{r:g}" fill="{fill}" stroke="{colour}" stroke-width="{ring}"/>'
                f'<text x="{x + r:g}" y="{y + h + 14:g}" text-anchor="middle">{label}</text>')
    if kind in _GATEWAYS:
        cx, cy = x + w / 2, y + h / 2
        return (f'<polygon points="{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}" fill="{fill}" '
                f'stroke="{colour}" stroke-width="2"/><text x="{cx:g}" y="{y - 6:g}" text-anchor="middle">{label}</text>')
    return (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="10" fill="{fill}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{x + w / 2:g}" y="{y + h / 2 + 4:g}" text-anchor="middle">{escape(_short(name))}</text>')


def _short(label: str, room: int = 22) -> str:
    return label if len(label) <= room else label[:room - 1] + "…"


_ROOT = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" width="[^"]*" height="[^"]*" viewBox="0 0 ([0-9.]+) ([0-9.]+)"')


def tiles(svg: str, aspect: float = 1.43) -> list[str]:
    """The diagram cut, left to right, into parts of at most `aspect` (width / height) each — a wide
    process printed on one page is too small to read; in parts of a landscape page each it reads at
    about the size of the screen's. Each part is the whole drawing shown through its own viewBox."""
    found = _ROOT.match(svg)
    if found is None:
        return [svg]
    width, height = float(found.group(1)), float(found.group(2))
    count = max(1, math.ceil(width / (height * aspect)))
    step = width / count
    overlap = min(40.0, step / 10)  # an element cut at an edge is seen whole on one of the two parts
    rest = svg[found.end():]
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'viewBox="{max(0.0, i * step - overlap):g} 0 {step + (overlap if i else 0) + (overlap if i < count - 1 else 0):g} '
            f'{height:g}"' + rest for i in range(count)]
