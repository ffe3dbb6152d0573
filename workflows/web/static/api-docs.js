// The interactive API docs at /docs (workflows/web/api_docs.py): Swagger UI from the product's own
// static files, started here rather than by an inline script, so that our Content-Security-Policy
// (script-src 'self', no 'unsafe-inline') allows it. No validator badge: nothing leaves the site.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
