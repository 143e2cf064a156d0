/* Lab pages: filter the test list while typing; keep the scan box ready for the next barcode.
   Loaded only on lab pages; CSP-safe (no inline code). */
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-test-filter]")) { return; }
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var items = document.querySelectorAll("[data-test-list] [data-test-item]");
    Array.prototype.forEach.call(items, function (item) {
      var text = item.textContent.toLowerCase();
      var checked = item.querySelector("input:checked");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      item.hidden = !(match || checked);
    });
  });

  // Enter in the filter box must not submit the order form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-test-filter]")) {
      event.preventDefault();
    }
  });

  // After a page loads with the scan box, select its text so the next scan replaces it.
  document.addEventListener("DOMContentLoaded", function () {
    var scan = document.querySelector("[data-scan-box][autofocus]");
    if (scan) { scan.focus(); scan.select(); }
  });
})();
