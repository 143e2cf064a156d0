/* carebench page helpers: small, optional (every page works without them), CSP-safe. */
(function () {
  "use strict";

  function focusFirst(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); return; }
    var notice = root.querySelector("[data-section-notice]");
    if (notice) { notice.focus(); }
  }

  // Focus the error summary on a page that came back with errors.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("main [data-error-summary]");
    if (summary) { summary.focus(); }
  });

  // After htmx swaps in a section or form: move focus to its errors or its notice.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id === "search-results") { return; }
    var fresh = target.isConnected ? target : document.getElementById(target.id);
    if (fresh) {
      focusFirst(fresh);
      var field = fresh.querySelector(".correct-form input:not([type=hidden]), .correct-form select");
      if (field && !fresh.querySelector("[data-error-summary]")) { field.focus(); }
    }
  });

  // Search: Down arrow from the box goes to the first result; arrows move between results.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    var links = Array.prototype.slice.call(document.querySelectorAll("#search-results .result-link"));
    if (!links.length) { return; }
    if (target.matches && target.matches("[data-search-box]") && event.key === "ArrowDown") {
      event.preventDefault();
      links[0].focus();
      return;
    }
    var at = links.indexOf(target);
    if (at === -1) { return; }
    event.preventDefault();
    if (event.key === "ArrowDown" && at < links.length - 1) { links[at + 1].focus(); }
    if (event.key === "ArrowUp") {
      if (at === 0) { document.querySelector("[data-search-box]").focus(); }
      else { links[at - 1].focus(); }
    }
  });

  // ICD-10-CM typeahead: choosing a code fills the code (and an empty description).
  document.addEventListener("click", function (event) {
    var option = event.target.closest ? event.target.closest(".code-option") : null;
    if (option) {
      var form = option.closest("form");
      var list = option.closest(".code-options");
      var code = form && form.querySelector("input[name$='icd10_code']");
      var description = form && form.querySelector("input[name$='description']");
      if (code) { code.value = option.getAttribute("data-code"); }
      if (description && !description.value) {
        description.value = option.getAttribute("data-description");
      }
      if (list) { list.innerHTML = ""; }
      if (code) { code.focus(); }
      return;
    }
    // Cancel an inline correction: empty its slot instead of leaving the page.
    var cancel = event.target.closest ? event.target.closest("[data-dismiss-edit]") : null;
    if (cancel) {
      var slot = cancel.closest(".entry-edit");
      if (slot) {
        event.preventDefault();
        slot.innerHTML = "";
      }
    }
  });

  // Escape closes the ICD-10-CM options list.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.matches && event.target.matches("input[name$='icd10_code']")) {
      var field = event.target.closest(".field");
      var list = field && field.querySelector(".code-options");
      if (list) { list.innerHTML = ""; }
    }
  });
})();
