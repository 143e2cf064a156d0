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
      var codes = form && form.querySelector("input[name='diagnosis_codes']");
      var description = form && form.querySelector("input[name$='description']");
      if (codes && !code) {
        // a list of codes: the chosen one replaces the last (the one being typed)
        var kept = codes.value.split(",").slice(0, -1).map(function (c) { return c.trim(); })
          .filter(function (c) { return c; });
        kept.push(option.getAttribute("data-code"));
        codes.value = kept.join(", ") + ", ";
        code = codes;
        description = null;
      } else if (code) { code.value = option.getAttribute("data-code"); }
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
    if (event.key === "Escape" && event.target.matches && event.target.matches("input[name$='icd10_code'], input[name='diagnosis_codes']")) {
      var field = event.target.closest(".field");
      var list = field && field.querySelector(".code-options");
      if (list) { list.innerHTML = ""; }
    }
  });
})();

/* Schedule, flow board and rooming helpers (CSP-safe: styles set through the CSSOM only). */
(function () {
  "use strict";

  // Colours and grid places come as data attributes; inline style attributes are not allowed.
  function paint(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-color]"), function (el) {
      var color = el.getAttribute("data-color");
      if (/^#[0-9a-fA-F]{6}$/.test(color)) { el.style.setProperty("--type-color", color); }
    });
    Array.prototype.forEach.call(root.querySelectorAll(".day-grid[data-rows]"), function (grid) {
      grid.classList.add("timed");
      grid.style.setProperty("--rows", grid.getAttribute("data-rows"));
      Array.prototype.forEach.call(grid.querySelectorAll("[data-row]"), function (el) {
        var row = parseInt(el.getAttribute("data-row"), 10);
        var span = parseInt(el.getAttribute("data-span") || "1", 10);
        if (row > 0 && span > 0) { el.style.gridRow = row + " / span " + span; }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:afterSettle", function (event) { paint(event.detail.elt || document); });

  // The board refreshes itself every 15 s; not while someone is typing in it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-poll")) { return; }
    var active = document.activeElement;
    if (active && elt.contains(active) && active.matches("input, select, textarea")) {
      event.preventDefault();
    }
  });

  // After a board action, keep the keyboard on the same visit's row.
  var lastRow = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var row = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("tr[id^='row-']") : null;
    if (row) { lastRow = row.id; }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!lastRow || !event.detail.elt || event.detail.elt.id !== "board") { return; }
    var row = document.getElementById(lastRow);
    lastRow = null;
    var target = row && (row.querySelector(".next-step input:not([type=hidden]), .next-step select, .next-step button") ||
                         row.querySelector("a"));
    var error = document.querySelector("#board [data-error-summary]");
    if (error) { error.focus(); } else if (target) { target.focus(); }
  });

  // BMI as the height and weight are typed (the server works it out again when saving).
  function number(form, selector) {
    var el = form.querySelector(selector);
    var value = el ? parseFloat(el.value) : NaN;
    return isNaN(value) ? null : value;
  }
  function bmi(form) {
    var out = form.querySelector("[data-bmi-output]");
    if (!out) { return; }
    var cm = number(form, "[data-height-cm]");
    var feet = number(form, "[data-height-ft]");
    var inches = number(form, "[data-height-in]");
    if (feet !== null || inches !== null) { cm = ((feet || 0) * 12 + (inches || 0)) * 2.54; }
    var weight = number(form, "[data-weight]");
    var unit = form.querySelector("[data-weight-unit]");
    if (weight !== null && unit && unit.value === "lb") { weight = weight / 2.20462262; }
    if (!cm || !weight || cm < 20) { out.textContent = "—"; return; }
    var value = weight / Math.pow(cm / 100, 2);
    if (!isFinite(value) || value < 5 || value > 250) { out.textContent = "check height and weight"; return; }
    out.textContent = value.toFixed(1) + " kg/m²";
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest ? event.target.closest("[data-bmi-form]") : null;
    if (form) { bmi(form); }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest ? event.target.closest("[data-bmi-form]") : null;
    if (form) { bmi(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-bmi-form]"), bmi);
  });

  // The calendar feed address: select it all on focus, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });
})();
