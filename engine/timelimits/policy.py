"""Time-limit settings: per item (``TimePolicy``) and per step (``StepSettings``).

An item's policy is stored on the item as JSON and validated here; the catalogue
and the CLI write it. A step's settings come from ``camunda:property`` entries on
its user task in the BPMN, so they travel with the process version.

Defaults follow the Administrative Licensing Law: 20 working days to decide,
one extension of 10, 5 to accept or issue the one-time notice, 10 to issue the
licence after a grant.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.errors import BadInput

#: Who an alert goes to: the step's handler, the department's 负责人, the supervisor.
RECIPIENTS = ("handler", "head", "supervisor")
#: Alerts that can be escalated.
ALERT_KINDS = ("warning", "yellow", "red")
#: Stages a user task can declare; the clocks follow them.
STAGES = ("acceptance", "review", "decision", "issue")
#: Kinds of suspended period (特别程序) whose time is not counted.
SUSPENSION_KINDS = {"hearing": "听证", "tender": "招标", "auction": "拍卖", "inspection": "检验",
                    "testing": "检测", "quarantine": "检疫", "appraisal": "鉴定", "expert_review": "专家评审"}
MAX_DAYS = 365
#: Who may approve an extension of the decision limit.
EXTENSION_APPROVERS = ("head", "government")


@dataclass(frozen=True)
class Escalation:
    """Notify ``to`` once the alert has stood ``after_days`` working days."""

    to: str
    after_days: int = 0


@dataclass(frozen=True)
class WarningRule:
    """Warn ``before_days`` working days before a limit, or when ``share`` of it is used."""

    before_days: int | None = 1
    share: float | None = None

    def offset(self, limit: int) -> int | None:
        """Working days after the clock's start at whose end the warning fires; None if none."""
        if limit <= 1:
            return None
        if self.share is not None:
            at = math.ceil(self.share * limit)
        elif self.before_days is not None:
            at = limit - self.before_days
        else:
            return None
        return at if 0 < at < limit else None


DEFAULT_ESCALATION = {
    "warning": (Escalation("handler", 0),),
    "yellow": (Escalation("handler", 0), Escalation("head", 1), Escalation("supervisor", 2)),
    "red": (Escalation("handler", 0), Escalation("head", 0), Escalation("supervisor", 0)),
}


@dataclass(frozen=True)
class TimePolicy:
    statutory_days: int = 20
    promised_days: int | None = None
    acceptance_days: int = 5
    issue_days: int = 10
    extension_days: int = 10
    deemed_approval: bool = False
    #: 上报件: the lower level's own limit for its preliminary review (行政许可法 art. 43: 20)
    preliminary_days: int | None = None
    #: who approves an extension: ``head`` (the department's 负责人) or ``government`` (the
    #: 本级人民政府负责人, for joint handling: 行政许可法 art. 42)
    extension_approver: str = "head"
    #: per-step limits from the catalogue, by BPMN element id; they win over ``limit_days`` in the diagram
    step_days: dict[str, int] = field(default_factory=dict)
    warning: WarningRule = field(default_factory=WarningRule)
    escalation: dict[str, tuple[Escalation, ...]] = field(default_factory=lambda: dict(DEFAULT_ESCALATION))

    @property
    def first_limit(self) -> int:
        """The promised limit if there is one (0 = the same day, 即办件), else the statutory one."""
        return self.promised_days if self.promised_days is not None else self.statutory_days

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # Only 上报件 and 联办件 have these; other policies keep the shape they were stored with.
        if data["preliminary_days"] is None:
            del data["preliminary_days"]
        if data["extension_approver"] == "head":
            del data["extension_approver"]
        data["escalation"] = {k: [asdict(e) for e in v] for k, v in self.escalation.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TimePolicy":
        """Validate settings given by a person; unknown keys and bad values are refused."""
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadInput(f"时限设置中有未知项：{'、'.join(unknown)}")
        policy = cls()
        values: dict[str, Any] = {}
        for name in ("statutory_days", "acceptance_days", "issue_days", "extension_days"):
            if name in data:
                # 0: the same day (当场办结, 即办件) for the statutory limit; no extension at all
                values[name] = _days(name, data[name],
                                     minimum=0 if name in ("extension_days", "statutory_days") else 1)
        if "extension_approver" in data:
            if data["extension_approver"] not in EXTENSION_APPROVERS:
                raise BadInput(f"extension_approver 应为 {'、'.join(EXTENSION_APPROVERS)} 之一"
                               f"（head：本机关负责人；government：本级人民政府负责人）")
            values["extension_approver"] = data["extension_approver"]
        if data.get("preliminary_days") is not None:
            values["preliminary_days"] = _days("preliminary_days", data["preliminary_days"])
        if data.get("promised_days") is not None:
            values["promised_days"] = _days("promised_days", data["promised_days"], minimum=0)
        if "step_days" in data:
            steps = data["step_days"]
            if not isinstance(steps, dict):
                raise BadInput("step_days 应为 {环节id: 工作日}")
            values["step_days"] = {str(k): _days(f"step_days.{k}", v) for k, v in steps.items()}
        if "deemed_approval" in data:
            if not isinstance(data["deemed_approval"], bool):
                raise BadInput("deemed_approval 应为 true 或 false")
            values["deemed_approval"] = data["deemed_approval"]
        if "warning" in data:
            values["warning"] = warning_rule(data["warning"])
        if "escalation" in data:
            values["escalation"] = {**DEFAULT_ESCALATION, **escalation_rules(data["escalation"])}
        policy = replace(policy, **values)
        if policy.promised_days is not None and policy.promised_days > policy.statutory_days:
            raise BadInput(f"承诺时限（{policy.promised_days}）不能长于法定时限（{policy.statutory_days}）")
        return policy


@dataclass(frozen=True)
class StepSettings:
    """What a user task declares about time, read from its ``camunda:property`` entries."""

    stage: str | None = None
    limit_days: int | None = None
    deemed_approval: dict[str, str] | None = None  # the form data that counts as agreement
    warning: WarningRule | None = None
    suspends: str | None = None  # a 特别程序 step (e.g. testing): its time does not count
    department_field: str | None = None  # the form field naming the department that handles it


def _days(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise BadInput(f"{name} 应为整数个工作日，收到 “{value}”") from None
    if not minimum <= value <= MAX_DAYS:
        raise BadInput(f"{name} 应在 {minimum} 到 {MAX_DAYS} 个工作日之间，收到 {value}")
    return value


def warning_rule(value: Any) -> WarningRule:
    if not isinstance(value, dict) or set(value) - {"before_days", "share"} or len(value) != 1:
        raise BadInput("预警设置应为 {\"before_days\": N} 或 {\"share\": 0.9} 之一")
    if "share" in value:
        share = value["share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise BadInput(f"预警比例应在 0 与 1 之间，收到 {share}")
        return WarningRule(before_days=None, share=float(share))
    return WarningRule(before_days=_days("before_days", value["before_days"]))


def escalation_rules(value: Any) -> dict[str, tuple[Escalation, ...]]:
    if not isinstance(value, dict):
        raise BadInput("升级设置应为 {\"yellow\": [{\"to\": \"handler\", \"after_days\": 0}, …]}")
    rules = {}
    for kind, levels in value.items():
        if kind not in ALERT_KINDS:
            raise BadInput(f"未知的提醒类型 “{kind}”（可用：{'、'.join(ALERT_KINDS)}）")
        if not isinstance(levels, list) or not levels:
            raise BadInput(f"{kind} 的升级设置应为非空列表")
        parsed = []
        for level in levels:
            if not isinstance(level, dict) or level.get("to") not in RECIPIENTS:
                raise BadInput(f"升级对象应为 {'、'.join(RECIPIENTS)} 之一")
            parsed.append(Escalation(level["to"], _days("after_days", level.get("after_days", 0), minimum=0)))
        rules[kind] = tuple(sorted(parsed, key=lambda e: e.after_days))
    return rules


def policy_from_json(data: dict[str, Any] | None) -> TimePolicy:
    """Read a stored policy back (stored policies were validated when written)."""
    data = dict(data or {})
    if "warning" in data:
        data["warning"] = {k: v for k, v in data["warning"].items() if v is not None}
    return TimePolicy.from_dict(data)


def step_settings(properties: dict[str, str], form_fields: dict[str, Any]) -> StepSettings:
    """Parse a task's time properties; raise ``BadInput`` with a designer-facing reason."""
    stage = properties.get("stage") or None
    if stage is not None and stage not in STAGES:
        raise BadInput(f"stage 应为 {'、'.join(STAGES)} 之一，收到 “{stage}”")
    required = {"acceptance": ("acceptance", {"accept", "refuse"}), "decision": ("decision", {"grant", "deny"})}
    if stage in required:
        name, options = required[stage]
        form_field = form_fields.get(name)
        have = {o for o, _ in form_field.options} if form_field is not None else set()
        if form_field is None or form_field.type != "enum" or not options <= have:
            raise BadInput(f"stage={stage} 的任务需要枚举字段 “{name}”，选项至少包含 {'、'.join(sorted(options))}")
    limit = properties.get("limit_days")
    limit_days = _days("limit_days", limit) if limit not in (None, "") else None
    deemed = None
    if properties.get("deemed_approval"):
        if limit_days is None:
            raise BadInput("设置了 deemed_approval（超时默许）的任务必须同时设置 limit_days")
        deemed = {}
        for pair in properties["deemed_approval"].split(","):
            key, sep, value = (part.strip() for part in pair.partition("="))
            form_field = form_fields.get(key)
            if not sep or form_field is None:
                raise BadInput(f"deemed_approval 应写成 字段=取值，且字段在表单中存在：“{pair.strip()}”")
            if form_field.type == "enum" and value not in {o for o, _ in form_field.options}:
                raise BadInput(f"deemed_approval 中 “{key}” 的取值 “{value}” 不是该字段的选项")
            deemed[key] = value
    warning = None
    if properties.get("warn_before_days"):
        warning = warning_rule({"before_days": properties["warn_before_days"]})
    elif properties.get("warn_share"):
        try:
            share = float(properties["warn_share"])
        except ValueError:
            raise BadInput(f"warn_share 应为 0 与 1 之间的小数，收到 “{properties['warn_share']}”") from None
        warning = warning_rule({"share": share})
    suspends = properties.get("suspends") or None
    if suspends is not None:
        if suspends not in SUSPENSION_KINDS:
            raise BadInput(f"suspends 应为 {'、'.join(SUSPENSION_KINDS)} 之一，收到 “{suspends}”")
        if limit_days is None:
            raise BadInput("设置了 suspends（特别程序）的任务须用 limit_days 声明所需工作日")
        if deemed:
            raise BadInput("特别程序环节不能超时默许")
    department_field = properties.get("department_field") or None
    if department_field is not None and (not department_field.isidentifier() or department_field.startswith("_")):
        raise BadInput(f"department_field 应为表单字段名，收到 “{department_field}”")
    if department_field and properties.get("department"):
        raise BadInput("department 与 department_field 只能设置一个")
    return StepSettings(stage, limit_days, deemed, warning, suspends, department_field)
