/* Chinese for bpmn-js: a `translate` module override (bpmn-js's documented way to localise).
   Strings not listed stay as bpmn-js writes them; replacements like {element} are filled in. */
(function () {
  "use strict";
  var zh = {
    "Activate hand tool": "抓手工具（拖动画布）",
    "Activate lasso tool": "套索工具（框选）",
    "Activate create/remove space tool": "插入/删除空白",
    "Activate global connect tool": "连线工具",
    "Create start event": "开始事件",
    "Create end event": "结束事件",
    "Create task": "任务（环节）",
    "Create gateway": "网关",
    "Create intermediate/boundary event": "中间/边界事件（如计时器）",
    "Create data object reference": "数据对象",
    "Create data store reference": "数据存储",
    "Create expanded sub-process": "子流程",
    "Create pool/participant": "池（参与者）",
    "Create group": "分组",
    "Append task": "追加任务",
    "Append end event": "追加结束事件",
    "Append gateway": "追加网关",
    "Append intermediate/boundary event": "追加中间事件",
    "Append receive task": "追加接收任务",
    "Append timer intermediate catch event": "追加计时器",
    "Append message intermediate catch event": "追加消息捕获事件",
    "Append signal intermediate catch event": "追加信号捕获事件",
    "Append conditional intermediate catch event": "追加条件捕获事件",
    "Append compensation activity": "追加补偿活动",
    "Add text annotation": "添加注释",
    "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道",
    "Divide into two lanes": "分成两条泳道",
    "Divide into three lanes": "分成三条泳道",
    "Change element": "更改类型",
    "Change type": "更改类型",
    "Connect to other element": "连线到其他元素",
    "Connect using association": "用关联连线",
    "Connect using data input association": "用数据输入关联连线",
    "Delete": "删除",
    "Search in diagram": "在图中搜索",
    "Open {element}": "打开 {element}",
    "Toggle non-interrupting": "切换非中断",
    "Align elements": "对齐",
    "Distribute elements": "均匀分布",
    "Task": "任务", "User task": "用户任务（人工办理）", "Service task": "服务任务（不支持）",
    "Script task": "脚本任务", "Manual task": "手工任务", "Send task": "发送任务", "Receive task": "接收任务",
    "Business rule task": "业务规则任务（不支持）", "Call activity": "调用活动",
    "Sub-process": "子流程", "Sub-process (collapsed)": "子流程（折叠）", "Sub-process (expanded)": "子流程（展开）",
    "Event sub-process": "事件子流程", "Transaction": "事务",
    "Ad-hoc sub-process": "自由子流程（不支持）", "Ad-hoc sub-process (collapsed)": "自由子流程（折叠，不支持）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开，不支持）",
    "Exclusive gateway": "排他网关", "Parallel gateway": "并行网关", "Inclusive gateway": "包容网关",
    "Complex gateway": "复杂网关（不支持）", "Event-based gateway": "事件网关",
    "Start event": "开始事件", "End event": "结束事件", "Intermediate throw event": "中间抛出事件",
    "Boundary event": "边界事件", "Terminate end event": "终止结束事件",
    "Timer start event": "计时器开始事件", "Timer intermediate catch event": "计时器（等待）",
    "Timer boundary event": "计时器边界事件（超时）", "Timer boundary event (non-interrupting)": "计时器边界事件（不中断）",
    "Message start event": "消息开始事件", "Message end event": "消息结束事件",
    "Message intermediate catch event": "消息捕获事件", "Message intermediate throw event": "消息抛出事件",
    "Message boundary event": "消息边界事件", "Signal start event": "信号开始事件", "Signal end event": "信号结束事件",
    "Error end event": "错误结束事件", "Error boundary event": "错误边界事件",
    "Conditional start event": "条件开始事件", "Conditional intermediate catch event": "条件捕获事件",
    "Sequence flow": "顺序流", "Default flow": "默认路径", "Conditional flow": "条件路径",
    "Empty pool/participant": "空池", "Expanded pool/participant": "展开的池",
    "Data object reference": "数据对象", "Data store reference": "数据存储"
  };
  function translate(template, replacements) {
    replacements = replacements || {};
    var text = Object.prototype.hasOwnProperty.call(zh, template) ? zh[template] : template;
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
    });
  }
  window.approvalsModelerTranslate = { translate: ["value", translate] };
})();
