/* 环节设置 in the modeler's side form (web/templates/modeler.html): a user task's per-step
   settings — each form field editable, read only or hidden; the operations its clerks are offered;
   who handles it; what happens when nobody may; what happens at its time limit. They are kept as
   camunda:property entries on the task (engine/runtime/step_rules.py reads them), which Camunda
   Modeler and a save here keep. Applied with the side form's own 应用 button, after modeler.js. */
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  var form = document.getElementById("element-form");
  var host = document.getElementById("el-task-fields");
  if (!app || !form || !host) { return; }

  var OPERATIONS = [["approve", "通过/同意"], ["refuse", "不予受理/不予许可"], ["return", "退回"],
                    ["transfer", "转办"], ["delegate", "委派"], ["cosign", "加签"]];
  var HANDLERS = [["role", "按办理角色（同岗位任一人）"], ["head", "本部门负责人"],
                  ["head_chain", "逐级部门负责人（本部门起，逐级向上）"], ["chosen", "由上一环节办理人指定"],
                  ["field", "由表单字段指定的人"]];
  var NOBODY = [["", "留在本岗位待办（默认）"], ["admin", "转事项所属部门负责人"], ["skip", "跳过本环节并记入办件历史"]];
  var AT_LIMIT = [["", "不作处理（默认，按时限规则预警）"], ["remind", "提醒办理人"], ["agree", "视为同意"],
                  ["refuse", "视为不同意"]];
  var ACCESS = [["", "可编辑"], ["readonly", "只读"], ["hidden", "隐藏"]];
  var KEYS = ["readonly", "hidden", "operations", "handler", "handler_field", "chain_levels", "nobody",
              "at_limit", "remind_times", "limit_days"];
  var modeler = null;
  var current = null;
  var box = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function select(id, label, choices) {  // the label names the control by "for", not by wrapping it
    var wrap = el("div", {"class": "st-row"});
    wrap.appendChild(el("label", {"for": id}, label));
    var s = el("select", {id: id});
    choices.forEach(function (c) { s.appendChild(el("option", {value: c[0]}, c[1])); });
    wrap.appendChild(s);
    return wrap;
  }

  function number(id, label, max) {
    var wrap = el("div", {"class": "st-row", id: id + "-wrap"});
    wrap.appendChild(el("label", {"for": id}, label));
    wrap.appendChild(el("input", {type: "number", id: id, min: "1", max: String(max || 10), step: "1"}));
    return wrap;
  }

  function build() {
    box = el("fieldset", {id: "el-steps"});
    box.appendChild(el("legend", {}, "环节设置"));
    var access = el("div", {id: "st-access"});
    box.appendChild(el("p", {"class": "meta", id: "st-access-title"}, "字段权限（本环节能否修改、能否看到各字段）"));
    box.appendChild(access);
    var ops = el("fieldset", {id: "st-ops"});
    ops.appendChild(el("legend", {}, "本环节可用的操作"));
    OPERATIONS.forEach(function (o) {
      var l = el("label", {"class": "choice"});
      var c = el("input", {type: "checkbox", value: o[0], "data-op": o[0]});
      l.appendChild(c);
      l.appendChild(document.createTextNode(" " + o[1]));
      ops.appendChild(l);
    });
    box.appendChild(ops);
    box.appendChild(select("st-handler", "办理人", HANDLERS));
    var fieldWrap = select("st-handler-field", "指定办理人的字段", []);
    fieldWrap.id = "st-handler-field-wrap";
    box.appendChild(fieldWrap);
    box.appendChild(number("st-levels", "逐级审批的级数（空：直到最上级）"));
    box.appendChild(select("st-nobody", "无人可办时", NOBODY));
    box.appendChild(number("st-limit", "环节时限（工作日；空：不单独设）", 365));
    box.appendChild(select("st-at-limit", "到达环节时限时", AT_LIMIT));
    box.appendChild(number("st-times", "最多提醒次数"));
    box.appendChild(el("p", {"class": "meta"}, "改动后点下方“应用”。选了“到达环节时限时”的处理，须同时填写环节时限。"));
    host.appendChild(box);
    document.getElementById("st-handler").addEventListener("change", toggle);
    document.getElementById("st-at-limit").addEventListener("change", toggle);
  }

  function toggle() {
    var handler = document.getElementById("st-handler").value;
    document.getElementById("st-handler-field-wrap").hidden = handler !== "field";
    document.getElementById("st-levels-wrap").hidden = handler !== "head_chain";
    document.getElementById("st-times-wrap").hidden = document.getElementById("st-at-limit").value !== "remind";
  }

  function propertiesOf(bo) {
    var out = {};
    var ext = bo.extensionElements;
    (ext && ext.values ? ext.values : []).forEach(function (v) {
      if (v.$type !== "camunda:Properties") { return; }
      (v.values || []).forEach(function (p) { if (p.name) { out[p.name] = p.value || ""; } });
    });
    return out;
  }

  function list(text) {
    return (text || "").split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function formFields() {  // every form field of the diagram, this task's first: [id, label, own]
    var seen = {};
    var out = [];
    function add(bo, own) {
      var ext = bo.extensionElements;
      (ext && ext.values ? ext.values : []).forEach(function (v) {
        if (v.$type !== "camunda:FormData") { return; }
        (v.fields || []).forEach(function (f) {
          if (f.id && !seen[f.id]) { seen[f.id] = true; out.push([f.id, f.label || f.id, own]); }
        });
      });
    }
    add(current.businessObject, true);
    modeler.get("elementRegistry").filter(function (e) { return e.type === "bpmn:UserTask"; })
      .forEach(function (e) { if (e !== current) { add(e.businessObject, false); } });
    return out;
  }

  function show(element) {
    current = element && element.businessObject && element.businessObject.$type === "bpmn:UserTask" ? element : null;
    if (!current) { return; }
    var props = propertiesOf(current.businessObject);
    var readonly = list(props.readonly), hidden = list(props.hidden);
    var access = document.getElementById("st-access");
    access.textContent = "";
    var fields = formFields();
    fields.forEach(function (f) {
      var wrap = el("div", {"class": "st-field"});
      wrap.appendChild(el("span", {"aria-hidden": "true"}, f[1] + (f[2] ? "" : "（其他环节）")));
      var s = el("select", {"data-field": f[0], "aria-label": "字段“" + f[1] + "”在本环节的权限"});
      ACCESS.forEach(function (a) { s.appendChild(el("option", {value: a[0]}, a[1])); });
      s.value = hidden.indexOf(f[0]) >= 0 ? "hidden" : (readonly.indexOf(f[0]) >= 0 ? "readonly" : "");
      wrap.appendChild(s);
      access.appendChild(wrap);
    });
    if (!fields.length) { access.appendChild(el("p", {"class": "meta"}, "流程中还没有表单字段。")); }
    var ops = props.operations === undefined ? null : list(props.operations);
    box.querySelectorAll("[data-op]").forEach(function (c) {
      c.checked = ops === null || ops.indexOf(c.getAttribute("data-op")) >= 0;
    });
    document.getElementById("st-handler").value = props.handler || "role";
    var fieldSelect = document.getElementById("st-handler-field");
    fieldSelect.textContent = "";
    fields.forEach(function (f) { fieldSelect.appendChild(el("option", {value: f[0]}, f[1] + "（" + f[0] + "）")); });
    fieldSelect.value = props.handler_field || "";
    document.getElementById("st-levels").value = props.chain_levels || "";
    document.getElementById("st-nobody").value = props.nobody || "";
    document.getElementById("st-limit").value = props.limit_days || "";
    document.getElementById("st-at-limit").value = props.at_limit || "";
    document.getElementById("st-times").value = props.remind_times || "";
    toggle();
  }

  function chosen() {
    var settings = {};
    var readonly = [], hidden = [];
    box.querySelectorAll("[data-field]").forEach(function (s) {
      if (s.value === "readonly") { readonly.push(s.getAttribute("data-field")); }
      if (s.value === "hidden") { hidden.push(s.getAttribute("data-field")); }
    });
    if (readonly.length) { settings.readonly = readonly.join(","); }
    if (hidden.length) { settings.hidden = hidden.join(","); }
    var ops = [];
    box.querySelectorAll("[data-op]").forEach(function (c) { if (c.checked) { ops.push(c.getAttribute("data-op")); } });
    if (ops.length !== OPERATIONS.length) { settings.operations = ops.join(","); }
    var handler = document.getElementById("st-handler").value;
    if (handler !== "role") { settings.handler = handler; }
    if (handler === "field") { settings.handler_field = document.getElementById("st-handler-field").value; }
    var levels = document.getElementById("st-levels").value.trim();
    if (handler === "head_chain" && levels) { settings.chain_levels = levels; }
    var nobody = document.getElementById("st-nobody").value;
    if (nobody) { settings.nobody = nobody; }
    var limit = document.getElementById("st-limit").value.trim();
    if (limit) { settings.limit_days = limit; }
    var atLimit = document.getElementById("st-at-limit").value;
    if (atLimit) { settings.at_limit = atLimit; }
    var times = document.getElementById("st-times").value.trim();
    if (atLimit === "remind" && times) { settings.remind_times = times; }
    return settings;
  }

  function apply() {
    if (!current || !modeler) { return; }
    var moddle = modeler.get("moddle");
    var bo = current.businessObject;
    var settings = chosen();
    var values = bo.extensionElements && bo.extensionElements.values ? bo.extensionElements.values.slice() : [];
    var kept = [];
    values.forEach(function (v) {
      if (v.$type === "camunda:Properties") {
        (v.values || []).forEach(function (p) { if (KEYS.indexOf(p.name) < 0) { kept.push(p); } });
      }
    });
    Object.keys(settings).forEach(function (k) {
      kept.push(moddle.create("camunda:Property", {name: k, value: settings[k]}));
    });
    values = values.filter(function (v) { return v.$type !== "camunda:Properties"; });
    if (kept.length) { values.unshift(moddle.create("camunda:Properties", {values: kept})); }
    modeler.get("modeling").updateProperties(current, {
      extensionElements: values.length ? moddle.create("bpmn:ExtensionElements", {values: values}) : undefined
    });
    show(current);
    document.getElementById("modeler-status").textContent =
      "已应用到 “" + (bo.name || bo.id) + "”，含环节设置（尚未保存）";
  }

  build();
  // modeler.js applies name, role and form first (its listener was added first), then this
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  (function attach() {
    if (!window.approvalsModeler) { window.setTimeout(attach, 50); return; }
    modeler = window.approvalsModeler;
    modeler.on("selection.changed", function (e) { show(e.newSelection.length === 1 ? e.newSelection[0] : null); });
  })();
})();
