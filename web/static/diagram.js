/* Fit the case's process diagram to the page width without making task names smaller than
   legible (the SVG's data-min-scale): a large process then scrolls. 放大 / 缩小 zoom, 适应宽度
   shows the whole width (smaller text), 还原 goes back; on the diagram the + − 0 keys do the same. Without this script the diagram shows at its natural size and
   scrolls. No dependencies; the page's CSP allows only same-origin scripts. */
(function () {
  "use strict";
  var STEP = 1.25, SMALLEST = 0.25, LARGEST = 3, FIT_AT_MOST = 1.25;

  function setUp(figure) {
    var svg = figure.querySelector("svg.bpmn");
    var canvas = figure.querySelector(".diagram-canvas");
    var tools = figure.querySelector(".diagram-tools");
    if (!svg || !canvas || !tools) return;
    var box = svg.viewBox.baseVal;
    var minimum = parseFloat(svg.getAttribute("data-min-scale")) || 0.86;
    var output = tools.querySelector("output");
    var scale = 1, zoomed = false;

    function apply(next) {
      // keep the middle of what is in view in the middle
      var middleX = (canvas.scrollLeft + canvas.clientWidth / 2) / scale;
      var middleY = (canvas.scrollTop + canvas.clientHeight / 2) / scale;
      scale = Math.min(LARGEST, Math.max(SMALLEST, next));
      svg.setAttribute("width", (box.width * scale).toFixed(1));
      svg.setAttribute("height", (box.height * scale).toFixed(1));
      canvas.scrollLeft = middleX * scale - canvas.clientWidth / 2;
      canvas.scrollTop = middleY * scale - canvas.clientHeight / 2;
      var cut = box.width * scale > canvas.clientWidth + 1 || box.height * scale > canvas.clientHeight + 1;
      output.textContent = "显示比例 " + Math.round(scale * 100) + "%" +
        (cut ? "，图未完整显示，可滚动查看或点“适应宽度”看全图" : "");
      svg.setAttribute("data-scale", scale.toFixed(4));
    }

    function fit(whole) {
      var width = (canvas.clientWidth - 2) / box.width;
      apply(Math.min(FIT_AT_MOST, whole ? width : Math.max(minimum, width)));
      zoomed = false;
      // from the start of the process, unless that leaves the current step out of view
      canvas.scrollLeft = 0;
      canvas.scrollTop = 0;
      var current = svg.querySelector("g.current .shape, g.late .shape");
      if (current) {
        var step = current.getBBox(), right = (step.x + step.width - box.x) * scale;
        var bottom = (step.y + step.height - box.y) * scale;
        if (right > canvas.clientWidth) canvas.scrollLeft = (step.x - box.x + step.width / 2) * scale - canvas.clientWidth / 2;
        if (bottom > canvas.clientHeight) canvas.scrollTop = (step.y - box.y + step.height / 2) * scale - canvas.clientHeight / 2;
      }
    }

    function act(what) {
      if (what === "in") { apply(scale * STEP); zoomed = true; }
      else if (what === "out") { apply(scale / STEP); zoomed = true; }
      else fit(what === "whole");
    }

    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-zoom]");
      if (button) act(button.getAttribute("data-zoom"));
    });
    canvas.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var what = { "+": "in", "=": "in", "-": "out", "_": "out", "0": "fit", "9": "whole" }[event.key];
      if (what) { event.preventDefault(); act(what); }
    });
    window.addEventListener("resize", function () { if (!zoomed) fit(false); });
    var folded = figure.closest("details");  // folded away (the versions page): fit when opened
    if (folded) folded.addEventListener("toggle", function () { if (folded.open && !zoomed) fit(false); });
    fit(false);
  }

  function start() {
    var figures = document.querySelectorAll("figure.diagram");
    for (var i = 0; i < figures.length; i++) setUp(figures[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
