"""Per-step settings a designer sets on the diagram, and the rules the engine draws from them.

A user task declares them as ``camunda:property`` entries (as it declares ``stage`` and
``limit_days``), so they travel with the process version, survive Camunda Modeler and the
browser modeler, and a step without them behaves exactly as before:

==================  ==========================================================================
``readonly``        form fields this step shows but may not change: ``price,area``
``hidden``          form fields this step does not see (nor earlier steps' values of them)
``operations``      what its clerks are offered: ``approve,refuse,return,transfer,delegate,cosign``
                    (absent: all of them)
``handler``         who handles it: ``role`` (its lane or candidateGroups, the default),
                    ``head`` (the 负责人 of its department), ``head_chain`` (the 负责人 of its
                    department, then of each department above, in turn), ``chosen`` (a person the
                    previous step's handler picks), ``field`` (the person named in a form field)
``handler_field``   for ``handler=field``: the form field naming the person (a user name)
``chain_levels``    for ``head_chain``: how many levels in all (default: up to the top)
``nobody``          when nobody holds the role there: ``admin`` (to the 负责人 of the item's
                    department, who administers the item) or ``skip`` (passed, with a record)
``at_limit``        at the step's time limit (``limit_days``): ``remind``, ``agree`` or ``refuse``
``remind_times``    for ``at_limit=remind``: remind the handler up to N times (a working day apart)
``opinion_required`` when the 审批意见 must be written: ``always``, or ``field=value`` pairs
                    (``review_result=fail``): a negative conclusion needs its reason
==================  ==========================================================================

``parse_rules`` refuses a bad setting with a Chinese reason (the linter locates it on the element).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from engine.errors import BadInput

#: The operations a step may offer, with their Chinese names (designer's vocabulary → command types).
OPERATIONS = {"approve": "通过/同意", "refuse": "不予受理/不予许可", "return": "退回", "transfer": "转办",
              "delegate": "委派", "cosign": "加签"}
COMMAND_OPERATIONS = {"return_task": "return", "transfer_task": "transfer", "delegate_task": "delegate",
                      "add_cosigner": "cosign"}
HANDLERS = {"role": "按角色", "head": "本部门负责人", "head_chain": "逐级部门负责人", "chosen": "上一环节指定的人",
            "field": "表单字段指定的人"}
NOBODY = {"admin": "转事项所属部门负责人", "skip": "跳过并记录"}
AT_LIMIT = {"remind": "提醒", "agree": "视为同意", "refuse": "视为不同意"}
ACCESS = {"editable": "可编辑", "readonly": "只读", "hidden": "隐藏"}
MAX_LEVELS = 10
MAX_REMINDERS = 10
#: the property names this module reads
KEYS = ("readonly", "hidden", "operations", "handler", "handler_field", "chain_levels", "nobody", "at_limit",
        "remind_times", "opinion_required")
#: the form field a ``handler=chosen`` step adds to the steps before it: the person picked
CHOSEN_PREFIX = "next_handler_"


@dataclass(frozen=True)
class StepRules:
    readonly: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()
    operations: frozenset[str] | None = None  # None: everything, as before
    handler: str = "role"
    handler_field: str | None = None
    chain_levels: int | None = None
    nobody: str | None = None
    at_limit: str | None = None
    remind_times: int | None = None
    #: None: the opinion is optional; () : always required; else the (field, value) pairs requiring it
    opinion_required: tuple[tuple[str, str], ...] | None = None

    def needs_opinion(self, data: dict[str, Any]) -> bool:
        """Whether a submission with ``data`` must carry an opinion (its reason)."""
        if self.opinion_required is None:
            return False
        return not self.opinion_required or any(str(data.get(f)) == v for f, v in self.opinion_required)

    def access(self, field_id: str) -> str:
        if field_id in self.hidden:
            return "hidden"
        if field_id in self.readonly:
            return "readonly"
        return "editable"

    @property
    def protected(self) -> frozenset[str]:
        return self.readonly | self.hidden

    def offers(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def describe(self, labels: dict[str, str] | None = None) -> dict[str, str]:
        """The settings in words, by what they are about (the version summary compares these);
        ``labels`` names the process's form fields (id → label)."""
        labels = labels or {}
        out = {}
        if self.readonly:
            out["只读字段"] = "、".join(labels.get(f, f) for f in sorted(self.readonly))
        if self.hidden:
            out["隐藏字段"] = "、".join(labels.get(f, f) for f in sorted(self.hidden))
        if self.operations is not None:
            out["可用操作"] = "、".join(OPERATIONS[o] for o in OPERATIONS if o in self.operations) or "无"
        if self.handler != "role":
            text = HANDLERS[self.handler]
            if self.handler == "field":
                text += f"（{self.handler_field}）"
            if self.chain_levels:
                text += f"（共 {self.chain_levels} 级）"
            out["办理人"] = text
        if self.nobody:
            out["无人可办时"] = NOBODY[self.nobody]
        if self.opinion_required is not None:
            out["须填写意见"] = "总是" if not self.opinion_required else "、".join(
                f"{labels.get(f, f)}为 {v} 时" for f, v in self.opinion_required)
        if self.at_limit:
            out["到期时"] = AT_LIMIT[self.at_limit] + (f"（最多 {self.remind_times} 次）" if self.remind_times else "")
        return out


def chosen_field(element_id: str) -> str:
    """The form field in which the step before picks the handler of ``element_id``."""
    return f"{CHOSEN_PREFIX}{element_id}"


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]


def _count(name: str, value: str, maximum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise BadInput(f"{name} 应为整数，收到 “{value}”") from None
    if not 1 <= number <= maximum:
        raise BadInput(f"{name} 应在 1 到 {maximum} 之间，收到 {number}")
    return number


def parse_rules(properties: dict[str, str], known_fields: Iterable[str]) -> StepRules:
    """A step's settings from its properties; ``known_fields``: every form field of the diagram."""
    known = set(known_fields)
    access: dict[str, frozenset[str]] = {}
    for key, what in (("readonly", "只读"), ("hidden", "隐藏")):
        names = _names(properties.get(key) or "")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BadInput(f"{what}字段 “{'、'.join(unknown)}” 不是流程中任何表单的字段")
        access[key] = frozenset(names)
    both = access["readonly"] & access["hidden"]
    if both:
        raise BadInput(f"字段 “{'、'.join(sorted(both))}” 不能既只读又隐藏")
    operations = None
    if "operations" in properties:
        names = _names(properties["operations"] or "")
        unknown = [n for n in names if n not in OPERATIONS]
        if unknown:
            raise BadInput(f"未知的操作 “{'、'.join(unknown)}”（可用：{'、'.join(f'{k}（{v}）' for k, v in OPERATIONS.items())}）")
        operations = frozenset(names)
    handler = (properties.get("handler") or "role").strip()
    if handler not in HANDLERS:
        raise BadInput(f"未知的办理人规则 “{handler}”（可用：{'、'.join(f'{k}（{v}）' for k, v in HANDLERS.items())}）")
    handler_field = (properties.get("handler_field") or "").strip() or None
    if handler == "field":
        if handler_field is None:
            raise BadInput("办理人规则为 field（表单字段指定的人）时须用 handler_field 写明字段")
        if handler_field not in known:
            raise BadInput(f"handler_field “{handler_field}” 不是流程中任何表单的字段")
    elif handler_field is not None:
        raise BadInput("只有办理人规则为 field 时才设置 handler_field")
    levels = properties.get("chain_levels")
    chain_levels = _count("chain_levels（逐级审批的级数）", levels, MAX_LEVELS) if levels not in (None, "") else None
    if chain_levels is not None and handler != "head_chain":
        raise BadInput("只有办理人规则为 head_chain（逐级部门负责人）时才设置 chain_levels")
    nobody = (properties.get("nobody") or "").strip() or None
    if nobody is not None and nobody not in NOBODY:
        raise BadInput(f"无人可办时的处理 “{nobody}” 无效（可用：admin（转事项所属部门负责人）、skip（跳过并记录））")
    at_limit = (properties.get("at_limit") or "").strip() or None
    if at_limit is not None and at_limit not in AT_LIMIT:
        raise BadInput(f"到期处理 “{at_limit}” 无效（可用：remind（提醒）、agree（视为同意）、refuse（视为不同意））")
    if at_limit is not None and not (properties.get("limit_days") or "").strip():
        raise BadInput("设置了“到达环节时限时”的处理，须同时写明环节时限（工作日；设计器“环节设置”中的“环节时限”，即 limit_days）")
    stage = properties.get("stage")
    if at_limit == "agree" and not properties.get("deemed_approval") and stage not in ("acceptance", "decision"):
        raise BadInput("到期视为同意（at_limit=agree）须用 deemed_approval 写明视为同意时的表单取值"
                       "（受理、决定环节除外）")
    if at_limit == "refuse" and stage not in ("acceptance", "decision"):
        raise BadInput("到期视为不同意（at_limit=refuse）只能用于受理或决定环节（stage=acceptance 或 decision）")
    if at_limit == "refuse" and properties.get("deemed_approval"):
        raise BadInput("到期视为不同意与 deemed_approval（超时默许）不能同时设置")
    times = properties.get("remind_times")
    remind_times = _count("remind_times（提醒次数）", times, MAX_REMINDERS) if times not in (None, "") else None
    if remind_times is not None and at_limit != "remind":
        raise BadInput("只有到期处理为 remind（提醒）时才设置 remind_times")
    opinion = _opinion_rule(properties.get("opinion_required"), known)
    return StepRules(access["readonly"], access["hidden"], operations, handler, handler_field, chain_levels,
                     nobody, at_limit, remind_times, opinion)


def _opinion_rule(value: str | None, known: set[str]) -> tuple[tuple[str, str], ...] | None:
    """``opinion_required``: ``always`` → (), ``review_result=fail,decision=deny`` → the pairs."""
    if value is None or not value.strip():
        return None
    if value.strip() == "always":
        return ()
    pairs = []
    for part in _names(value):
        field, sep, wanted = part.partition("=")
        field, wanted = field.strip(), wanted.strip()
        if not sep or not field or not wanted:
            raise BadInput(f"opinion_required（须填写意见）应为 always 或 字段=取值（如 review_result=fail），收到 “{part}”")
        if field not in known:
            raise BadInput(f"opinion_required 中的字段 “{field}” 不是流程中任何表单的字段")
        pairs.append((field, wanted))
    return tuple(pairs)


def has_rules(properties: dict[str, Any]) -> bool:
    return any(k in properties for k in KEYS)
