/* The BPMN diagram of an instance, drawn by the bpmn-js navigated viewer (vendor/bpmn-js), with
   the steps coloured by canvas markers (app.css: .cxp-completed, .cxp-active, .cxp-incident).

   <div class="bpmn-diagram" data-xml-url="/instances/12/diagram.bpmn"
        data-completed='["start","assess_application"]' data-active='["sign_commitment_visitor"]'
        data-incident='[]'></div>

   Needs bpmn-navigated-viewer.production.min.js loaded before it (both with `defer`). When the XML
   cannot be fetched or drawn, the container says so in a sentence; `data-state` is "loading",
   "ready" or "failed" (tests and styles read it). */
(function () {
  "use strict";
  var MARKERS = { completed: "cxp-completed", active: "cxp-active", incident: "cxp-incident" };

  function ids(container, name) {
    try {
      var value = JSON.parse(container.getAttribute("data-" + name) || "[]");
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  function fail(container, why) {
    container.setAttribute("data-state", "failed");
    container.textContent = "";
    var message = document.createElement("p");
    message.className = "diagram-error";
    message.setAttribute("role", "status");
    message.textContent = "The process diagram could not be shown (" + why + "). " +
      "The history below lists every step.";
    container.appendChild(message);
  }

  function mark(viewer, container) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(MARKERS).forEach(function (name) {
      ids(container, name).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, MARKERS[name]); }
      });
    });
  }

  // The whole process when it is legible in the box; else (a long process in a narrow box) the
  // steps where it stands — the incident, else the active steps, else the last completed — at a
  // readable scale, the rest a drag or a scroll away.
  var READABLE = 0.6;
  function focus(viewer, container) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    viewer.cxpContainer = container;
    var fitted = canvas.zoom("fit-viewport", "auto");
    if (fitted >= READABLE) { return; }
    var picked = ["incident", "active"].map(function (n) { return ids(container, n); })
      .filter(function (list) { return list.length; })[0] || ids(container, "completed").slice(-1);
    var shapes = picked.map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!shapes.length) { return; }
    var box = canvas.viewbox();
    var left = Math.min.apply(null, shapes.map(function (s) { return s.x; }));
    var right = Math.max.apply(null, shapes.map(function (s) { return s.x + (s.width || 0); }));
    var top = Math.min.apply(null, shapes.map(function (s) { return s.y; }));
    var bottom = Math.max.apply(null, shapes.map(function (s) { return s.y + (s.height || 0); }));
    var width = box.outer.width / READABLE;
    var height = box.outer.height / READABLE;
    canvas.viewbox({ x: (left + right) / 2 - width / 2, y: (top + bottom) / 2 - height / 2,
                     width: width, height: height });
    container.setAttribute("data-zoomed", "where-it-stands");
  }

  function show(container) {
    var url = container.getAttribute("data-xml-url");
    container.setAttribute("data-state", "loading");
    if (!window.BpmnJS) { fail(container, "the diagram viewer did not load"); return; }
    if (!url) { fail(container, "no diagram address"); return; }
    var canvasHolder = document.createElement("div");
    canvasHolder.className = "bpmn-canvas";
    container.appendChild(canvasHolder);
    var viewer = new window.BpmnJS({ container: canvasHolder });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/xml, text/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("the server answered " + response.status); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        mark(viewer, container);
        focus(viewer, container);
        container.setAttribute("data-state", "ready");
        container.bpmnViewer = viewer;
        refitOnResize(viewer);
      })
      .catch(function (error) {
        viewer.destroy();
        fail(container, error && error.message ? error.message : "unknown error");
      });
  }

  // A narrower or wider window (a phone turned, a window resized) shows the whole process again.
  function refitOnResize(viewer) {
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) { window.clearTimeout(pending); }
      pending = window.setTimeout(function () {
        pending = null;
        viewer.get("canvas").resized();
        focus(viewer, viewer.cxpContainer);
      }, 150);
    });
  }

  function showAll(root) {
    (root || document).querySelectorAll(".bpmn-diagram:not([data-state])").forEach(show);
  }

  document.addEventListener("DOMContentLoaded", function () { showAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showAll(event.target); });
})();
