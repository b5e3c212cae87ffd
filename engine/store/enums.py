"""The closed sets of values the engine stores, each with its Chinese name.

Each is a ``str`` enum, so a member compares equal to its stored text (``TaskState.READY ==
"ready"``) and queries may use either. The database enforces them with CHECK constraints
(``checks`` below, used by the model and by migration 0002), templates show ``label``s through
the ``label`` filter, and ``docs/`` lists them from here.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class Labelled(StrEnum):
    """A stored value with its Chinese name."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str | None, default: str = "") -> str:
        """The Chinese name of a stored value (the value itself if unknown)."""
        if value is None:
            return default
        try:
            return cls(value).label
        except ValueError:
            return value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class CaseState(Labelled):
    RUNNING = "running", "办理中"
    CONCLUDED = "concluded", "已办结"
    TERMINATED = "terminated", "已终止"
    VOIDED = "voided", "已作废"


class TaskState(Labelled):
    READY = "ready", "待办"
    COMPLETED = "completed", "已办"
    RETURNED = "returned", "已退回"
    TAKEN_BACK = "taken_back", "被拿回"
    CANCELLED = "cancelled", "已撤销"


class TaskKind(Labelled):
    BPMN = "bpmn", "流程环节"
    FOLLOWUP = "followup", "补充意见"
    COSIGN = "cosign", "加签"


class Acceptance(Labelled):
    SUPPLEMENT = "supplement", "待补正"
    ACCEPTED = "accepted", "已受理"
    DEEMED = "deemed", "视为受理"
    REFUSED = "refused", "不予受理"


class Decision(Labelled):
    GRANT = "grant", "准予许可"
    DENY = "deny", "不予许可"
    DEEMED_GRANT = "deemed_grant", "超期默许（视为准予）"


class Card(Labelled):
    YELLOW = "yellow", "黄牌"
    RED = "red", "红牌"


class Alert(Labelled):
    WARNING = "warning", "预警"
    YELLOW = "yellow", "黄牌"
    RED = "red", "红牌"


class ClockKind(Labelled):
    ACCEPTANCE = "acceptance", "受理时限"
    DECISION = "decision", "办理时限"
    PRELIMINARY = "preliminary", "先行审查时限"
    STEP = "step", "环节时限"
    ISSUE = "issue", "发证时限"
    FOLLOWUP = "followup", "补充意见时限"
    SUSPENSION = "suspension", "特别程序"
    TIMER = "timer", "流程定时"


class ClockState(Labelled):
    RUNNING = "running", "计时中"
    PAUSED = "paused", "已中止"
    STOPPED = "stopped", "已停止"


class ClockOutcome(Labelled):
    ON_TIME = "on_time", "按时"
    LATE = "late", "超时"
    DEEMED = "deemed", "默许"
    CANCELLED = "cancelled", "撤销"
    ENDED = "ended", "结束"
    FIRED = "fired", "已触发"


class DeadlineKind(Labelled):
    WARNING = "warning", "预警"
    YELLOW = "yellow", "黄牌"
    RED = "red", "红牌"
    DEEMED = "deemed", "超时默许"
    ESCALATE = "escalate", "升级提醒"
    RESUME = "resume", "恢复计时"
    TIMER = "timer", "定时事件"


class DeadlineState(Labelled):
    ARMED = "armed", "待触发"
    PAUSED = "paused", "已中止"
    FIRED = "fired", "已触发"
    CANCELLED = "cancelled", "已取消"
    FAILED = "failed", "失败"


class RequestKind(Labelled):
    EXTENSION = "extension", "延期申请"


class RequestState(Labelled):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "未批准"


class CalendarDayKind(Labelled):
    OFF = "off", "休息日"
    MAKEUP = "makeup", "调休上班"


class DocumentKind(Labelled):
    """The numbered official documents (文书) a case issues; the label is the document's title."""

    ACCEPTANCE_NOTICE = "acceptance_notice", "受理通知书"
    REFUSAL_NOTICE = "refusal_notice", "不予受理决定书"
    SUPPLEMENT_NOTICE = "supplement_notice", "补正材料一次性告知书"
    GRANT_DECISION = "grant_decision", "准予行政许可决定书"
    DENIAL_DECISION = "denial_decision", "不予行政许可决定书"
class FindingKind(Labelled):
    OVERDUE = "overdue", "办理超时"
    IRREGULAR_ACCEPTANCE = "irregular_acceptance", "违规受理"
    DUPLICATE = "duplicate", "多头审批"
    REFUSAL = "refusal", "否定报备"
    DEEMED = "deemed", "默许（视为受理或准予）"
    REPEATED_NOTICE = "repeated_notice", "重复告知"
    OFF_SYSTEM = "off_system", "体外循环迹象"
    PROCESS_ERROR = "process_error", "流程错误"
    POOR_RATING = "poor_rating", "差评整改"


class FindingState(Labelled):
    OPEN = "open", "待处理"
    EXPLAINING = "explaining", "待说明"
    EXPLAINED = "explained", "已说明"
    CONFIRMED = "confirmed", "已确认"
    CLOSED = "closed", "已关闭"


class WarningTarget(Labelled):
    PERSON = "person", "工作人员"
    UNIT = "unit", "单位"
    HEAD = "head", "单位负责人"


class WarningState(Labelled):
    ISSUED = "issued", "已告诫"
    PROPOSED = "proposed", "待确认"
    DISMISSED = "dismissed", "不予告诫"


#: table → column → enum: every stored closed set, enforced by a CHECK constraint
CHECKED: dict[str, dict[str, type[Labelled]]] = {
    "cases": {"state": CaseState, "acceptance": Acceptance, "decision": Decision, "card": Card},
    "tasks": {"state": TaskState, "kind": TaskKind, "alert": Alert},
    "case_clocks": {"kind": ClockKind, "state": ClockState, "outcome": ClockOutcome},
    "deadlines": {"kind": DeadlineKind, "state": DeadlineState},
    "case_requests": {"kind": RequestKind, "state": RequestState},
    "calendar_days": {"kind": CalendarDayKind},
    "documents": {"kind": DocumentKind},
    "supervision_findings": {"kind": FindingKind, "state": FindingState},
    "efficiency_warnings": {"target": WarningTarget, "state": WarningState},
}


def check_sql(column: str, enum: type[Labelled]) -> str:
    values = ", ".join(f"'{v}'" for v in enum.values())
    return f"{column} IN ({values})"


def check_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"


def checks(table: str) -> tuple[CheckConstraint, ...]:
    """The CHECK constraints of a table's closed-set columns (NULL stays allowed where the column is)."""
    return tuple(CheckConstraint(check_sql(column, enum), name=check_name(table, column))
                 for column, enum in CHECKED.get(table, {}).items())
