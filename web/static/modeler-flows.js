/* The modeler's side form for conditions and timers (web/templates/modeler.html, beside
   modeler.js): a sequence flow leaving an exclusive or inclusive gateway gets its condition and
   the "default path" choice; a timer event gets its kind (duration / date / cycle) and its ISO 8601
   definition, with Chinese hints and a reading of what a duration means ("P5D = 5 天").
   Nothing is checked here: after 应用 the diagram goes through the server's 校验 (the rules of
   engine/runtime/lint.py) and the problems of the selected element are shown at its field.
   modeler.js announces the modeler ("approvals:modeler") and every report ("approvals:problems")
   as events on #modeler-app. */
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  var form = document.getElementById("element-form");
  if (!app || !form) { return; }
  var flowPart = document.getElementById("el-flow-fields");
  var timerPart = document.getElementById("el-timer-fields");
  var condition = document.getElementById("el-condition");
  var isDefault = document.getElementById("el-default");
  var timerKind = document.getElementById("el-timer-kind");
  var timerValue = document.getElementById("el-timer-value");
  var KINDS = ["timeDuration", "timeDate", "timeCycle"];
  var HINTS = {
    timeDuration: "写 ISO 8601 时长：P5D = 5 天，PT2H = 2 小时，P1DT12H = 1 天 12 小时，P2W = 2 周；" +
                  "按工作日计写 workdays(3) = 3 个工作日（节假日按日历顺延）。",
    timeDate: "写 ISO 8601 时刻：2026-12-31T17:00:00+08:00 = 2026 年 12 月 31 日 17:00（北京时间）。",
    timeCycle: "写 ISO 8601 重复周期：R3/PT1H = 每小时一次，共 3 次；R/P1D = 每天一次，不限次数。"
  };
  var RULES = {flow: ["expression", "condition_field", "condition_missing"], timer: ["timer", "time_limit", "expression"]};
  var modeler = null;
  var current = null;
  var lastReport = null;
  var pendingCheck = false;

  // ------------------------------------------------------------ what kind of element

  function gatewayOf(element) {
    var source = element && element.source;
    return source && (source.type === "bpmn:ExclusiveGateway" || source.type === "bpmn:InclusiveGateway") ? source : null;
  }

  function timerOf(element) {
    var bo = element && element.businessObject;
    return bo && (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0] || null;
  }

  function kindOf(element) {
    if (!element) { return null; }
    if (element.type === "bpmn:SequenceFlow" && gatewayOf(element)) { return "flow"; }
    if (timerOf(element)) { return "timer"; }
    return null;
  }

  // ------------------------------------------------------------ reading a timer

  function unquote(text) {  // the engine reads the definition as an expression: "P5D" is a text
    var m = /^\s*(["'])(.*)\1\s*$/.exec(text || "");
    return m ? m[2] : (text || "").trim();
  }

  function stored(text) {  // an ISO text is stored quoted; workdays(3) or a form field as it is
    text = unquote(text);
    if (/^(R\d*\/)?P[\dT]/i.test(text)) { text = text.toUpperCase(); }  // p5d is P5D, not a field's name
    return /^(R\d*\/)?P|^\d{4}-\d{2}-\d{2}/.test(text) ? JSON.stringify(text) : text;
  }

  var UNITS = [["Y", "年"], ["M", "个月"], ["W", "周"], ["D", "天"]];
  var TIME_UNITS = [["H", "小时"], ["M", "分钟"], ["S", "秒"]];

  function readDuration(text) {
    var m = /^P(?!$)((?:\d+[YMWD])*)(?:T(?=\d)((?:\d+(?:\.\d+)?[HMS])*))?$/.exec(text);
    if (!m) { return null; }
    var parts = [];
    function take(segment, units) {
      units.forEach(function (u) {
        var found = new RegExp("(\\d+(?:\\.\\d+)?)" + u[0]).exec(segment || "");
        if (found) { parts.push(found[1] + " " + u[1]); }
      });
    }
    take(m[1], UNITS);
    take(m[2], TIME_UNITS);
    return parts.length ? parts.join(" ") : null;
  }

  function reading() {
    var text = unquote(timerValue.value);
    var out = "";
    var work = /^workdays\((\d+)\)$/.exec(text);
    if (!text) {
      out = "";
    } else if (work) {
      out = text + " = " + work[1] + " 个工作日";
    } else if (timerKind.value === "timeDuration") {
      var d = readDuration(text);
      out = d ? text + " = " + d : "";
    } else if (timerKind.value === "timeCycle") {
      var c = /^R(\d*)\/(P.+)$/.exec(text);
      var every = c && readDuration(c[2]);
      out = every ? text + " = 每 " + every + " 一次，" + (c[1] ? "共 " + c[1] + " 次" : "不限次数") : "";
    }
    document.getElementById("el-timer-reading").textContent = out;
    document.getElementById("el-timer-hint").textContent = HINTS[timerKind.value];
  }

  // ------------------------------------------------------------ the fields shown

  function fieldsHint() {  // the form fields a condition can compare, from every user task
    var seen = {};
    var out = [];
    modeler.get("elementRegistry").filter(function (e) { return e.type === "bpmn:UserTask"; }).forEach(function (e) {
      var ext = e.businessObject.extensionElements;
      (ext && ext.values || []).filter(function (v) { return v.$type === "camunda:FormData"; }).forEach(function (data) {
        (data.fields || []).forEach(function (f) {
          if (!f.id || seen[f.id]) { return; }
          seen[f.id] = true;
          var values = (f.values || []).map(function (v) { return "\"" + v.id + "\"" + (v.name ? "（" + v.name + "）" : ""); });
          out.push(f.id + (f.label ? "（" + f.label + "）" : "") + (values.length ? "：" + values.join(" / ") : ""));
        });
      });
    });
    return out.length ? "可用的表单字段：" + out.join("；") : "流程中还没有表单字段。";
  }

  function problem(id, text) {
    var p = document.getElementById(id);
    p.textContent = text || "";
    p.hidden = !text;
    var input = id === "el-condition-problem" ? condition : timerValue;
    if (text) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  }

  function showFieldProblems() {  // the last 校验's problems of the selected element, at its field
    var kind = kindOf(current);
    if (!kind) { return; }
    var id = current.businessObject.id;
    var found = (lastReport && lastReport.problems || []).filter(function (p) {
      return p.element === id && RULES[kind].indexOf(p.rule) >= 0;
    }).map(function (p) {  // the advice of the list beside the canvas (it says how this form writes a timer)
      return p.severity_label + "：" + p.reason + "。怎么改：" + p.fix;
    });
    problem(kind === "flow" ? "el-condition-problem" : "el-timer-problem", found.join("\n"));
  }

  function show(element) {
    current = element;
    var kind = kindOf(element);
    flowPart.hidden = kind !== "flow";
    timerPart.hidden = kind !== "timer";
    if (kind === "flow") {
      var bo = element.businessObject;
      var gateway = gatewayOf(element).businessObject;
      condition.value = bo.conditionExpression ? (bo.conditionExpression.body || "") : "";
      isDefault.checked = gateway.default === bo;
      condition.disabled = isDefault.checked;
      document.getElementById("el-condition-fields").textContent = fieldsHint();
      document.getElementById("el-gateway-note").textContent = "从网关“" + (gateway.name || gateway.id) + "”出发";
    } else if (kind === "timer") {
      var definition = timerOf(element);
      var where = {"bpmn:StartEvent": "计时器开始事件", "bpmn:BoundaryEvent": "计时器边界事件"}[element.type] || "计时器（等待）";
      document.getElementById("element-kind").textContent = "类型：" + where + "，id：" + element.businessObject.id;
      var which = KINDS.filter(function (k) { return definition[k]; })[0] || "timeDuration";
      timerKind.value = which;
      timerValue.value = definition[which] ? unquote(definition[which].body) : "";
      reading();
    }
    problem("el-condition-problem", "");
    problem("el-timer-problem", "");
    showFieldProblems();
  }

  // ------------------------------------------------------------ applying

  function applyFlow(moddle, modeling) {
    var bo = current.businessObject;
    var gatewayShape = gatewayOf(current);
    var gateway = gatewayShape.businessObject;
    if (isDefault.checked) {  // the default path needs no condition
      modeling.updateProperties(current, {conditionExpression: undefined});
      if (gateway.default !== bo) { modeling.updateProperties(gatewayShape, {"default": bo}); }
      return;
    }
    if (gateway.default === bo) { modeling.updateProperties(gatewayShape, {"default": undefined}); }
    var text = condition.value.trim();
    modeling.updateProperties(current, {
      conditionExpression: text ? moddle.create("bpmn:FormalExpression", {body: text}) : undefined
    });
  }

  function applyTimer(moddle, modeling) {
    var definition = timerOf(current);
    var text = timerValue.value.trim();
    var props = {};
    KINDS.forEach(function (k) {
      props[k] = k === timerKind.value && text ? moddle.create("bpmn:FormalExpression", {body: stored(text)}) : undefined;
    });
    modeling.updateModdleProperties(current, definition, props);
  }

  function apply(event) {
    event.preventDefault();
    var kind = kindOf(current);
    if (!modeler || !kind) { return; }
    var moddle = modeler.get("moddle");
    var modeling = modeler.get("modeling");
    if (kind === "flow") { applyFlow(moddle, modeling); } else { applyTimer(moddle, modeling); }
    show(current);
    pendingCheck = true;
    document.getElementById("btn-lint").click();  // the server's rules; the answer comes as "approvals:problems"
  }

  // ------------------------------------------------------------ start

  isDefault.addEventListener("change", function () {
    condition.disabled = isDefault.checked;
  });
  timerKind.addEventListener("change", reading);
  timerValue.addEventListener("input", reading);
  form.addEventListener("submit", apply);
  app.addEventListener("approvals:modeler", function (event) {
    modeler = event.detail;
    modeler.on("selection.changed", function (e) { show(e.newSelection.length === 1 ? e.newSelection[0] : null); });
    modeler.on("import.done", function () { show(null); });
  });
  app.addEventListener("approvals:problems", function (event) {
    lastReport = event.detail;
    showFieldProblems();
    if (pendingCheck && current && kindOf(current)) {
      pendingCheck = false;
      var field = kindOf(current) === "flow" ? "el-condition-problem" : "el-timer-problem";
      if (!document.getElementById(field).hidden) {
        document.getElementById(kindOf(current) === "flow" ? "el-condition" : "el-timer-value").focus();
      }
    }
  });
})();
