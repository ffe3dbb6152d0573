"""Copy the browser assets the web workspace serves from node_modules/ into
workflows/web/static/vendor/ (git-ignored, shipped in the wheel as package data).

Usage::

    python tools/vendor_assets.py            (after `npm ci`; `make install` runs both)

Exactly the files the pages load — htmx, the bpmn-js navigated viewer and its stylesheets and font, Swagger UI
for /docs —
plus the licence of every npm package whose code is inside them (bpmn-js's bundle carries its
runtime dependencies). Standard library only; exits non-zero, naming the file, when one is missing.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "workflows" / "web" / "static" / "vendor"

# source (under node_modules/) -> target (under vendor/)
FILES = {
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-js/bpmn-navigated-viewer.production.min.js",
    "bpmn-js/dist/assets/diagram-js.css": "bpmn-js/assets/diagram-js.css",
    "bpmn-js/dist/assets/bpmn-js.css": "bpmn-js/assets/bpmn-js.css",
    "bpmn-js/dist/assets/bpmn-font/css/bpmn.css": "bpmn-js/assets/bpmn-font/css/bpmn.css",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff2": "bpmn-js/assets/bpmn-font/font/bpmn.woff2",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff": "bpmn-js/assets/bpmn-font/font/bpmn.woff",
    "bpmn-js/dist/assets/bpmn-font/font/bpmn.ttf": "bpmn-js/assets/bpmn-font/font/bpmn.ttf",
    # the interactive API docs at /docs (workflows/web/api_docs.py), served by the product: no CDN
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
}
# packages whose code ships in the files above: their runtime dependencies are bundled too
BUNDLES = ("htmx.org", "bpmn-js")
# packages whose files are copied without their dependencies: swagger-ui-dist's bundle is complete (its
# one dependency, @scarf/scarf, is install-time analytics, switched off by package.json's scarfSettings)
STANDALONE = ("swagger-ui-dist",)
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license", "license.md")


def _manifest(package: str) -> dict:
    return json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))


def bundled_packages(roots: tuple[str, ...] = BUNDLES, standalone: tuple[str, ...] = STANDALONE) -> list[str]:
    """The packages of `roots` and, transitively, their runtime `dependencies`, and `standalone`, sorted."""
    seen: set[str] = set(standalone)
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_manifest(name).get("dependencies", {}))
    return sorted(seen)


def licence_file(package: str) -> Path:
    for name in LICENCE_NAMES:
        path = NODE_MODULES / package / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"no licence file in node_modules/{package}")


def vendor() -> list[Path]:
    """Replace vendor/ with fresh copies; return the files written."""
    missing = [source for source in FILES if not (NODE_MODULES / source).is_file()]
    if missing:
        raise FileNotFoundError(f"not in node_modules/ (run `npm ci` first): {', '.join(missing)}")
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    written: list[Path] = []
    for source, target in FILES.items():
        written.append(_copy(NODE_MODULES / source, VENDOR / target))
    lines = []
    for package in bundled_packages():
        version = _manifest(package).get("version", "?")
        lines.append(f"{package} {version} ({_manifest(package).get('license', 'see file')})")
        written.append(_copy(licence_file(package), VENDOR / "licenses" / f"{package.replace('/', '__')}.txt"))
    notice = VENDOR / "licenses" / "README.txt"
    notice.write_text("Browser assets copied from npm by tools/vendor_assets.py; the code of these "
                      "packages is inside them:\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    written.append(notice)
    return written


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def main() -> int:
    try:
        written = vendor()
    except FileNotFoundError as err:
        print(f"vendor_assets: {err}", file=sys.stderr)
        return 1
    print(f"vendor_assets: {len(written)} files in {VENDOR.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
