// The 打印 button of a printed document (no inline scripts: the Content Security Policy forbids them).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.print-button").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
