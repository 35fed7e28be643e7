// Starts Swagger UI on the vendored files; the OpenAPI address comes from a data
// attribute, so the page needs no inline script (Content-Security-Policy: script-src 'self').
(function () {
  "use strict";
  var swagger = document.getElementById("swagger-ui");
  if (swagger && window.SwaggerUIBundle) {
    window.SwaggerUIBundle({
      url: swagger.dataset.openapiUrl,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null
    });
  }
})();
