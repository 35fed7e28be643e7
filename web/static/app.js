// The pages work without this file; it adds: copying a digest to the clipboard, and moving
// the focus to a form's error summary or to content htmx has just replaced.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    var status = document.querySelector("[data-copied-for='" + button.dataset.copy + "']");
    source.select();
    var done = function () { if (status) { status.textContent = button.dataset.copiedText || "✓"; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id) {
      var fresh = document.getElementById(target.id);
      if (fresh) { fresh.setAttribute("tabindex", "-1"); fresh.focus({ preventScroll: true }); }
    }
  });
})();
