/* Calipers on the EKG tracing: click two points, read the interval (and amplitude).
 *
 * The tracing is the printed page as SVG at true scale: the paper is data-paper-width-mm wide,
 * drawn at data-mm-per-s (25 mm/s: 1 mm = 40 ms) and data-mm-per-mv (10 mm/mV). The image is
 * scaled to fit the page, so pixels per millimetre are its shown width / the paper's width
 * (data-px-per-mm is the value at natural size, used if the width is unknown).
 * No inline script: this file is loaded by the EKG page only.
 */
(function () {
  "use strict";

  function setup(root) {
    var surface = root.querySelector("[data-caliper-surface]");
    var image = root.querySelector("[data-caliper-image]");
    var readout = root.querySelector("[data-caliper-readout]");
    var use = root.querySelector("[data-caliper-use]");
    if (!surface || !image || !readout) return;
    var paperMm = parseFloat(root.dataset.paperWidthMm) || 279.4;
    var mmPerS = parseFloat(root.dataset.mmPerS) || 25;
    var mmPerMv = parseFloat(root.dataset.mmPerMv) || 10;
    var naturalPxPerMm = parseFloat(root.dataset.pxPerMm) || 96 / 25.4;
    var points = [];
    var marks = [];
    var lastMs = null;

    function pxPerMm() {
      var width = image.getBoundingClientRect().width;
      return width > 0 ? width / paperMm : naturalPxPerMm;
    }

    function clearMarks() {
      marks.forEach(function (el) { el.remove(); });
      marks = [];
    }

    function mark(x, cls) {
      var el = document.createElement("div");
      el.className = cls;
      el.style.left = x + "px";
      surface.appendChild(el);
      marks.push(el);
      return el;
    }

    function reset(message) {
      points = [];
      lastMs = null;
      clearMarks();
      readout.textContent = message || "Click the first point.";
      if (use) use.hidden = true;
    }

    surface.addEventListener("click", function (event) {
      var box = image.getBoundingClientRect();
      var x = event.clientX - box.left;
      var y = event.clientY - box.top;
      if (x < 0 || y < 0 || x > box.width || y > box.height) return;
      if (points.length === 2) reset();
      points.push({ x: x, y: y });
      var left = x + image.offsetLeft;
      mark(left, "ekg-caliper-mark");
      if (points.length === 1) {
        readout.textContent = "Click the second point.";
        return;
      }
      var scale = pxPerMm();
      var dxMm = Math.abs(points[1].x - points[0].x) / scale;
      var dyMm = (points[0].y - points[1].y) / scale;
      lastMs = (dxMm / mmPerS) * 1000;
      var band = mark(Math.min(points[0].x, points[1].x) + image.offsetLeft, "ekg-caliper-band");
      band.style.width = Math.abs(points[1].x - points[0].x) + "px";
      var rate = lastMs > 0 ? Math.round(60000 / lastMs) : 0;
      readout.textContent = "Interval " + Math.round(lastMs) + " ms (" + dxMm.toFixed(1) +
        " mm; as an RR: " + rate + " bpm) · height " + (dyMm / mmPerMv).toFixed(2) + " mV";
      if (use) use.hidden = false;
    });

    root.querySelectorAll("[data-caliper-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (lastMs === null) return;
        var input = document.querySelector('[data-measure="' + button.dataset.caliperTarget + '"]');
        if (!input) return;
        var value = button.hasAttribute("data-caliper-as-rate") ? 60000 / lastMs : lastMs;
        input.value = Math.round(value);
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.focus();
      });
    });

    var clear = root.querySelector("[data-caliper-clear]");
    if (clear) clear.addEventListener("click", function () { reset(); });
    window.addEventListener("resize", function () { reset(); });
  }

  function init() {
    document.querySelectorAll("[data-calipers]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
