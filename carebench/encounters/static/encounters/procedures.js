/* The procedure page: a signature pad (a drawn signature posted as a PNG data URL) and the
   consent form's drawn/paper switch. Vanilla, CSP-safe (no inline script or style). Without
   script the page still works for consents signed on paper and scanned. */
(function () {
  "use strict";

  function setUpPad(canvas) {
    var form = canvas.closest("form");
    var input = form.querySelector("input[name='signature']");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var inked = false;
    var last = null;
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";

    function at(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      last = at(event);
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var point = at(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(point.x, point.y);
      ctx.stroke();
      last = point;
      inked = true;
    });
    function stop() { drawing = false; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);

    var clear = form.querySelector("[data-signature-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        inked = false;
        input.value = "";
      });
    }
    form.addEventListener("submit", function () {
      input.value = inked ? canvas.toDataURL("image/png") : "";
    });
    canvas.setAttribute("data-ready", "");
  }

  function setUpMethod(form) {
    var radios = form.querySelectorAll("input[name='method']");
    function show() {
      var checked = form.querySelector("input[name='method']:checked");
      var paper = checked && checked.value === "paper";
      form.querySelectorAll("[data-drawn-only]").forEach(function (el) { el.hidden = paper; });
      form.querySelectorAll("[data-paper-only]").forEach(function (el) { el.hidden = !paper; });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-signature-pad]").forEach(setUpPad);
    document.querySelectorAll("form[data-consent-form]").forEach(setUpMethod);
  });
})();
