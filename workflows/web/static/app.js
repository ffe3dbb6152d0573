/* The workspace's own script (no inline script anywhere: the CSP forbids it).
   Loaded with `defer` after htmx, so htmx.config is set before htmx reads the page. */
(function () {
  "use strict";
  if (window.htmx) {
    // the CSP has no 'unsafe-eval' / 'unsafe-inline': no hx-on / js: expressions, no injected
    // <style> for indicators (app.css has the .htmx-indicator rules), no scripts in swapped HTML
    htmx.config.allowEval = false;
    htmx.config.allowScriptTags = false;
    htmx.config.includeIndicatorStyles = false;
    htmx.config.selfRequestsOnly = true;
    htmx.config.historyCacheSize = 0; // pages hold personal data: not kept in localStorage
    htmx.config.defaultFocusScroll = true;
  }
  // every htmx request carries the session's CSRF token (workflows/web/security.py)
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
  // a box that scrolls sideways (a wide table, a chart at 390 px) can be reached and scrolled with the
  // keyboard: it takes the focus, and a screen reader names it after its table's caption or section heading
  function nameOf(box) {
    var caption = box.querySelector("caption, figcaption");
    var section = box.closest("section, figure");
    var heading = section && section.querySelector("h2, h3, figcaption");
    var text = (caption || heading || {}).textContent || "";
    return text.replace(/\s+/g, " ").trim();
  }
  function scrollable(root) {
    (root || document).querySelectorAll(".table-wrap, .chart").forEach(function (box) {
      if (box.hasAttribute("tabindex")) { return; }
      box.setAttribute("tabindex", "0");
      if (box.tagName !== "FIGURE") {
        box.setAttribute("role", "region");
        var name = nameOf(box);
        if (name && !box.hasAttribute("aria-label")) { box.setAttribute("aria-label", name + " (scrolls sideways)"); }
      }
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { scrollable(event.target); });
  // a form sent back with errors: move the focus to its summary, so a screen reader reads it
  document.addEventListener("DOMContentLoaded", function () {
    scrollable(document);
    var summary = document.querySelector(".form-errors");
    if (summary) { summary.focus(); }
  });
})();
