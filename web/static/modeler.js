/* The modeler page (web/templates/modeler.html): bpmn-js (vendor/, unmodified) in Chinese
   (modeler-zh.js), with the camunda moddle descriptor so that camunda:formData,
   camunda:properties and camunda:candidateGroups survive opening and saving; a small side form
   for the selected element's name, role and form fields; and the 校验 / 一键修复 / 保存草稿 buttons,
   which post the XML to the server (web/design.py) and mark the problems on the elements. */
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  if (!app) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var statusLine = document.getElementById("modeler-status");
  var itemCode = app.getAttribute("data-item") || null;
  var basedOn = app.getAttribute("data-based-on") ? parseInt(app.getAttribute("data-based-on"), 10) : null;
  var draftId = app.getAttribute("data-draft") ? parseInt(app.getAttribute("data-draft"), 10) : null;
  var FIELD_TYPES = [["string", "文本"], ["text", "多行文本"], ["long", "整数"], ["boolean", "是/否"],
                     ["date", "日期"], ["enum", "选项"]];
  var PLACEHOLDER = "role_to_confirm";
  var LEGIBLE = 0.8;  // the smallest fitted scale: bpmn-js's 12 px names at about 10 px
  var modeler = null;
  var marked = [];
  var current = null;
  var sourceXml = "";
  var opened = false;

  function say(text) { statusLine.textContent = text; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || ("服务器返回错误 " + response.status)); }
        return data;
      });
    });
  }

  function currentXml() {  // a file the modeler could not open is checked as it came
    if (!opened) { return Promise.resolve(sourceXml); }
    return modeler.saveXML({format: true}).then(function (r) { return r.xml; });
  }

  // ------------------------------------------------------------ problems on the diagram

  function clearMarks() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
    modeler.get("overlays").remove({type: "lint"});
  }

  function showElementById(id) {
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return; }
    if (element.waypoints || element.width) {
      modeler.get("canvas").scrollToElement(element);
      modeler.get("selection").select(element);
    }
  }

  function badgePosition(element) {
    // a shape's badge at its top right corner; a flow's at the middle of its path (overlays are
    // placed from the top left of the flow's bounding box; .on-flow centres the badge there)
    var points = element.waypoints;
    if (!points || !points.length) { return {top: -9, right: 9}; }
    var lengths = [];
    var total = 0;
    var i;
    for (i = 1; i < points.length; i++) {
      var dx = points[i].x - points[i - 1].x;
      var dy = points[i].y - points[i - 1].y;
      lengths.push(Math.sqrt(dx * dx + dy * dy));
      total += lengths[i - 1];
    }
    var half = total / 2;
    var middle = {x: points[0].x, y: points[0].y};
    for (i = 1; i < points.length; i++) {
      if (half <= lengths[i - 1]) {
        var t = lengths[i - 1] ? half / lengths[i - 1] : 0;
        middle = {x: points[i - 1].x + t * (points[i].x - points[i - 1].x),
                  y: points[i - 1].y + t * (points[i].y - points[i - 1].y)};
        break;
      }
      half -= lengths[i - 1];
    }
    var left = Math.min.apply(null, points.map(function (p) { return p.x; }));
    var top = Math.min.apply(null, points.map(function (p) { return p.y; }));
    return {left: middle.x - left, top: middle.y - top};
  }

  function showProblems(report) {
    clearMarks();
    var list = document.getElementById("problems");
    list.textContent = "";
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var counts = {};
    (report.problems || []).forEach(function (p, index) {
      var li = document.createElement("li");
      li.className = "problem sev-" + p.severity;
      li.setAttribute("data-element", p.element || "");
      li.setAttribute("data-rule", p.rule);
      var strong = document.createElement("strong");
      strong.textContent = p.severity_label;
      li.appendChild(strong);
      li.appendChild(document.createTextNode("：" + p.where + "：" + p.reason));
      var fix = document.createElement("div");
      fix.className = "fix";
      fix.textContent = "怎么改：" + p.fix;
      li.appendChild(fix);
      var element = p.element ? registry.get(p.element) : null;
      if (element && (element.width || element.waypoints)) {
        var go = document.createElement("button");
        go.type = "button";
        go.className = "link";
        go.textContent = "在图中查看";
        go.setAttribute("aria-label", "在图中查看 " + (p.name || p.element));
        go.addEventListener("click", function () { showElementById(p.element); });
        li.appendChild(go);
        var marker = "lint-" + p.severity;
        canvas.addMarker(element, marker);
        marked.push([element, marker]);
        counts[p.element] = counts[p.element] || {numbers: [], error: false, element: element};
        counts[p.element].numbers.push(index + 1);  // the badge says the list's numbers
        counts[p.element].error = counts[p.element].error || p.severity === "error";
      }
      list.appendChild(li);
    });
    Object.keys(counts).forEach(function (id) {
      var found = counts[id];
      var badge = document.createElement("div");
      badge.className = "lint-badge" + (found.error ? "" : " warning") + (found.element.waypoints ? " on-flow" : "");
      badge.textContent = found.numbers.join(",");
      badge.title = "第 " + found.numbers.join("、") + " 条问题，见右侧校验结果";
      modeler.get("overlays").add(id, "lint", {position: badgePosition(found.element), html: badge});
    });
    document.getElementById("problems-empty").textContent =
      report.problems && report.problems.length ? "" : "没有发现问题：可以请管理员部署。";
    document.getElementById("btn-fix").hidden = !report.fixable;
    app.dispatchEvent(new CustomEvent("approvals:problems", {detail: report}));  // for modeler-flows.js
    return report;
  }

  function summary(report) {
    if (!report.errors && !report.warnings) { return "校验通过，没有问题"; }
    return "发现 " + report.errors + " 个错误、" + report.warnings + " 条提示，已在图中标出";
  }

  function lint() {
    say("正在校验…");
    return currentXml().then(function (xml) { return post(app.getAttribute("data-lint"), {xml: xml, item: itemCode}); })
      .then(function (report) { showProblems(report); say(summary(report)); return report; })
      .catch(function (error) { say("校验失败：" + error.message); });
  }

  function quickFix() {
    say("正在修复…");
    return currentXml().then(function (xml) { return post(app.getAttribute("data-fix"), {xml: xml, item: itemCode}); })
      .then(function (result) {
        sourceXml = result.xml;
        return modeler.importXML(result.xml).then(function () {
          opened = true;
          var done = document.getElementById("fixes-done");
          done.textContent = "";
          result.done.forEach(function (text) {
            var li = document.createElement("li");
            li.textContent = text;
            done.appendChild(li);
          });
          done.hidden = !result.done.length;
          showElement(null);
          fitBesidePalette();
          showProblems(result);
          say("已修复 " + result.done.length + " 项（尚未保存）；" + summary(result));
        });
      })
      .catch(function (error) { say("修复失败：" + error.message); });
  }

  function save() {
    say("正在保存…");
    return currentXml().then(function (xml) {
      return post(app.getAttribute("data-save"), {xml: xml, item: itemCode, based_on: basedOn, draft: draftId});
    }).then(function (result) {
      showProblems(result);
      say("已保存草稿（第 " + result.draft + " 号），" + result.state +
          (result.errors ? "；还有 " + result.errors + " 个错误，部署前须改正" : ""));
      app.setAttribute("data-saved-draft", String(result.draft));
      draftId = result.draft;
      if (window.history && window.history.replaceState) { window.history.replaceState(null, "", result.url); }
      var source = document.getElementById("modeler-source");  // what is open now is the draft just saved
      if (source) { source.textContent = "草稿 " + result.draft; }
    }).catch(function (error) { say("保存失败：" + error.message); });
  }

  // ------------------------------------------------------------ the side form

  function extensionValues(bo, type) {
    var ext = bo.extensionElements;
    return ext && ext.values ? ext.values.filter(function (v) { return v.$type === type; }) : [];
  }

  function placeholderPending(bo) {
    return extensionValues(bo, "camunda:Properties").some(function (props) {
      return (props.values || []).some(function (p) { return p.name === PLACEHOLDER; });
    });
  }

  function fieldRow(field, index) {
    var tr = document.createElement("tr");
    var n = index + 1;
    function cell(child) { var td = document.createElement("td"); td.appendChild(child); tr.appendChild(td); return child; }
    var id = cell(document.createElement("input"));
    id.className = "f-id"; id.value = field.id || ""; id.setAttribute("aria-label", "第 " + n + " 个字段的字段名（英文）");
    var label = cell(document.createElement("input"));
    label.className = "f-label"; label.value = field.label || ""; label.setAttribute("aria-label", "第 " + n + " 个字段的标签");
    var type = cell(document.createElement("select"));
    type.className = "f-type"; type.setAttribute("aria-label", "第 " + n + " 个字段的类型");
    FIELD_TYPES.forEach(function (t) {
      var option = document.createElement("option");
      option.value = t[0]; option.textContent = t[1];
      type.appendChild(option);
    });
    type.value = field.type || "string";
    var remove = cell(document.createElement("button"));
    remove.type = "button"; remove.className = "secondary"; remove.textContent = "删";
    remove.setAttribute("aria-label", "删除第 " + n + " 个字段");
    remove.addEventListener("click", function () { tr.parentNode.removeChild(tr); });
    tr.originalField = field.$type ? field : null;
    return tr;
  }

  function showElement(element) {
    current = element;
    var form = document.getElementById("element-form");
    var none = document.getElementById("element-none");
    if (!element || !element.businessObject || element.type === "label" || element.type === "bpmn:Process") {
      form.hidden = true; none.hidden = false; return;
    }
    var bo = element.businessObject;
    form.hidden = false; none.hidden = true;
    document.getElementById("element-kind").textContent = "类型：" + modeler.get("translate")(
      ({"bpmn:UserTask": "User task", "bpmn:Task": "Task", "bpmn:ExclusiveGateway": "Exclusive gateway",
        "bpmn:ParallelGateway": "Parallel gateway", "bpmn:StartEvent": "Start event", "bpmn:EndEvent": "End event",
        "bpmn:SequenceFlow": "Sequence flow", "bpmn:InclusiveGateway": "Inclusive gateway",
        "bpmn:IntermediateThrowEvent": "Intermediate throw event", "bpmn:IntermediateCatchEvent": "Intermediate catch event",
        "bpmn:BoundaryEvent": "Boundary event", "bpmn:ScriptTask": "Script task", "bpmn:CallActivity": "Call activity",
        "bpmn:SubProcess": "Sub-process", "bpmn:ServiceTask": "Service task", "bpmn:ManualTask": "Manual task",
        "bpmn:EventBasedGateway": "Event-based gateway", "bpmn:ComplexGateway": "Complex gateway"})[bo.$type] || bo.$type.replace("bpmn:", "")) + "，id：" + bo.id;
    document.getElementById("el-name").value = bo.name || "";
    var isTask = bo.$type === "bpmn:UserTask";
    document.getElementById("el-task-fields").hidden = !isTask;
    if (!isTask) { return; }
    var groups = (bo.get("camunda:candidateGroups") || "").split(",")[0].trim();
    document.getElementById("el-role").value = groups;
    var lane = modeler.get("elementRegistry").filter(function (e) {
      return e.type === "bpmn:Lane" && (e.businessObject.flowNodeRef || []).indexOf(bo) >= 0;
    }).pop();
    var laneNote = document.getElementById("el-lane-note");
    laneNote.textContent = lane && lane.businessObject.name
      ? (groups ? "此处选的角色优先于所在泳道“" + lane.businessObject.name + "”" : "未单独指定：按所在泳道“" + lane.businessObject.name + "”办理")
      : "";
    laneNote.hidden = !laneNote.textContent;
    document.getElementById("el-role-note").hidden = !placeholderPending(bo);
    var body = document.querySelector("#el-fields tbody");
    body.textContent = "";
    extensionValues(bo, "camunda:FormData").forEach(function (data) {
      (data.fields || []).forEach(function (f) { body.appendChild(fieldRow(f, body.children.length)); });
    });
  }

  function apply(event) {
    event.preventDefault();
    if (!current) { return; }
    var bo = current.businessObject;
    var moddle = modeler.get("moddle");
    var props = {name: document.getElementById("el-name").value.trim() || undefined};
    if (bo.$type === "bpmn:UserTask") {
      var role = document.getElementById("el-role").value;
      props["camunda:candidateGroups"] = role || undefined;
      var values = bo.extensionElements && bo.extensionElements.values ? bo.extensionElements.values.slice() : [];
      if (role) {  // a chosen role confirms the quick fix's placeholder
        values = values.map(function (v) {
          if (v.$type !== "camunda:Properties") { return v; }
          var kept = (v.values || []).filter(function (p) { return p.name !== PLACEHOLDER; });
          return kept.length ? moddle.create("camunda:Properties", {values: kept}) : null;
        }).filter(Boolean);
      }
      var fields = [];
      document.querySelectorAll("#el-fields tbody tr").forEach(function (tr) {
        var id = tr.querySelector(".f-id").value.trim();
        if (!id) { return; }
        var field = tr.originalField || moddle.create("camunda:FormField", {});
        field.id = id;
        field.label = tr.querySelector(".f-label").value.trim() || id;
        field.type = tr.querySelector(".f-type").value;
        fields.push(field);
      });
      values = values.filter(function (v) { return v.$type !== "camunda:FormData"; });
      if (fields.length) { values.push(moddle.create("camunda:FormData", {fields: fields})); }
      props.extensionElements = values.length ? moddle.create("bpmn:ExtensionElements", {values: values}) : undefined;
    }
    modeler.get("modeling").updateProperties(current, props);
    showElement(current);
    say("已应用到 “" + (bo.name || bo.id) + "”（尚未保存）");
  }

  function paletteTooltips() {  // a hovered palette icon says what it makes
    document.querySelectorAll("#canvas .djs-palette .entry[aria-label]").forEach(function (entry) {
      if (!entry.title) { entry.title = entry.getAttribute("aria-label"); }
    });
  }

  function fitBesidePalette() {  // the whole diagram, clear of the palette on the left
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport");
    var box = canvas.viewbox();
    var palette = document.querySelector("#canvas .djs-palette");
    var room = palette ? (palette.getBoundingClientRect().right - document.getElementById("canvas").getBoundingClientRect().left + 10) : 0;
    if (!room || !box.outer.width) { return; }
    var scale = (box.outer.width - room) / box.inner.width;
    scale = Math.min(scale, (box.outer.height - 20) / box.inner.height, 1);
    scale = Math.max(scale, Math.min(LEGIBLE, (box.outer.height - 20) / box.inner.height));  // names stay legible: a wide process pans
    canvas.viewbox({x: box.inner.x - room / scale, y: box.inner.y - 10 / scale,
                    width: box.outer.width / scale, height: box.outer.height / scale});
  }

  // ------------------------------------------------------------ start

  document.getElementById("el-add-field").addEventListener("click", function () {
    var body = document.querySelector("#el-fields tbody");
    var row = fieldRow({}, body.children.length);
    body.appendChild(row);
    row.querySelector(".f-id").focus();
  });
  document.getElementById("element-form").addEventListener("submit", apply);
  document.getElementById("btn-lint").addEventListener("click", lint);
  document.getElementById("btn-fix").addEventListener("click", quickFix);
  document.getElementById("btn-save").addEventListener("click", save);

  say("正在打开流程图…");
  Promise.all([
    fetch(app.getAttribute("data-moddle"), {credentials: "same-origin"}).then(function (r) { return r.json(); }),
    fetch(app.getAttribute("data-source"), {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("无法读取流程图（" + r.status + "）"); }
      return r.text();
    })
  ]).then(function (loaded) {
    modeler = new window.BpmnJS({
      container: "#canvas",
      additionalModules: [window.approvalsModelerTranslate],
      moddleExtensions: {camunda: loaded[0]}
    });
    window.approvalsModeler = modeler;  // for tests and the browser console
    modeler.on("selection.changed", function (e) { showElement(e.newSelection.length === 1 ? e.newSelection[0] : null); });
    modeler.on("commandStack.changed", function () { say("有未保存的修改"); });
    app.dispatchEvent(new CustomEvent("approvals:modeler", {detail: modeler}));  // for modeler-flows.js
    sourceXml = loaded[1];
    return modeler.importXML(loaded[1]);
  }).then(function (result) {
    opened = true;
    paletteTooltips();
    modeler.on("palette.changed", paletteTooltips);  // bpmn-js 18 names palette entries only by aria-label
    fitBesidePalette();
    var warnings = (result && result.warnings) || [];
    say(warnings.length ? "已打开；" + warnings.length + " 处内容设计器无法显示，请点“校验”查看" : "已打开，可以编辑");
    app.setAttribute("data-ready", "1");
  }).catch(function (error) {
    say("打不开这个流程图：" + error.message + "。请点“校验”查看问题，或返回上传页面。");
    app.setAttribute("data-ready", "error");
  });
})();
