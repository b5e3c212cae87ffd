// 受理登记: show only the applicant column of the chosen kind (the form works without this too).
(function () {
  var form = document.querySelector("form.register");
  if (!form) return;
  function update() {
    var chosen = form.querySelector("input[name=applicant_kind]:checked");
    ["natural", "legal"].forEach(function (kind) {
      var box = form.querySelector("fieldset." + kind);
      if (!box) return;
      var on = !chosen || chosen.value === kind;
      box.hidden = !on;
      box.disabled = !on;
    });
  }
  form.querySelectorAll("input[name=applicant_kind]").forEach(function (r) { r.addEventListener("change", update); });
  update();
})();
