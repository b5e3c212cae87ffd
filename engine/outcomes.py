"""What a finished step means beyond time: refusals need a reason and are reported to the
supervisor (否定报备) and told to the applicant (明确答复); a certificate number is kept."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import alerts
from .errors import BadInput, Conflict
from engine.store.models import Notice, Task

if TYPE_CHECKING:
    from .unit_of_work import OpenCase

#: (stage, field, value) that is a refusal, and what it is called.
REFUSALS = {("acceptance", "acceptance", "refuse"): "不予受理", ("decision", "decision", "deny"): "不予许可"}
CERTIFICATE_FIELD = "certificate_no"


def _refusal(case: "OpenCase", task: Task, data: dict[str, Any]) -> str | None:
    stage = case.definition.user_tasks[task.element_id].settings.stage
    for (refusal_stage, field, value), name in REFUSALS.items():
        if stage == refusal_stage and data.get(field) == value:
            return name
    return None


def refusal(case: "OpenCase", task: Task, data: dict[str, Any]) -> str | None:
    """What a submission refuses (不予受理, 不予许可), if it refuses at all."""
    return _refusal(case, task, data)


def check(case: "OpenCase", task: Task, data: dict[str, Any], opinion: str) -> None:
    """Before the flow moves: a refusal without a written reason is refused, and so is an
    acceptance the materials check does not support."""
    name = _refusal(case, task, data)
    if name and not opinion.strip():
        raise BadInput(f"{name}须在审批意见中写明理由（明确答复制）")
    step = case.definition.user_tasks[task.element_id] if task.kind == "bpmn" else None
    if step is not None and not opinion.strip() and step.rules.needs_opinion(data):
        chosen = [f"{f.label}为“{dict(f.options).get(data.get(f.id), data.get(f.id))}”" for f in step.form
                  if any(f.id == name and str(data.get(f.id)) == value for name, value in step.rules.opinion_required)]
        raise BadInput(f"{'、'.join(chosen) + '时' if chosen else ''}须在审批意见中写明理由")
    stage = step.settings.stage if step is not None else None
    if stage == "acceptance" and data.get("acceptance") == "accept":
        check_acceptance(case.row)
    if stage == "issue":
        owed = owed_materials(case.row.materials)
        if owed:
            raise Conflict(f"容缺受理的材料尚未补齐：{'、'.join(owed)}。领证前须补齐："
                           f"收到后请在“容缺材料”中登记收到，再制证发证")


def owed_materials(checklist: dict | None) -> dict[str, str]:
    """The materials still owed under 容缺受理 (the checklist marks them ``deferred``), with the
    day each was due."""
    return {name: (entry or {}).get("due_on", "") for name, entry in (checklist or {}).items()
            if (entry or {}).get("status") == "deferred"}


def check_acceptance(row) -> None:
    """受理 needs every required material in hand: the checklist (核对材料) may not mark one 缺
    (the notice says 申请材料齐全; a missing one is 一次性告知 or, where the guide allows, 容缺);
    an online application's uploaded scans must have been checked at all."""
    checklist = row.materials or {}
    required = {m["name"] for m in (row.started_guide or {}).get("materials", []) if m.get("required")}
    missing = [n for n, s in checklist.items() if n in required and (s or {}).get("status") == "missing"]
    if missing:
        raise Conflict(f"必需材料不齐（{'、'.join(missing)}），不能受理：材料核对中标为“缺”。已收到的，请在材料核对中改为“已收”"
                       f"并保存；未收到的，请一次性告知补正，或改为容缺（本事项允许时）")
    if row.account_id is not None and not checklist:
        raise Conflict("网上申请的材料尚未核对：请逐项核对申请人上传的扫描件并保存核对结果，再予以受理")


def completed(case: "OpenCase", task: Task) -> None:
    """After a step is done: report refusals, keep the certificate number."""
    ctx, row = case.ctx, case.row
    data = task.form_data or {}
    number = data.get(CERTIFICATE_FIELD)
    if isinstance(number, str) and number.strip():
        row.certificate_no = number.strip()
    name = _refusal(case, task, data)
    if name is None:  # a refusal by the step's settings at its limit is reported and told as well
        return
    reason = task.opinion or ""
    ctx.session.add(Notice(case_id=row.id, kind="refusal", body=f"经审查，决定{name}。理由：{reason}",
                           detail={"refusal": name, "task": task.spiff_id}, created_at=ctx.at,
                           created_by=ctx.actor.name))
    clock = case.timekeeper.clock("decision") or case.timekeeper.clock("acceptance")
    if clock is None:
        return
    supervisors = alerts.recipients(ctx.session, row, clock, "supervisor")
    alerts.send(ctx.session, supervisors, case=row, kind="negative",
                title=f"【否定报备】{row.number} {row.item.name}：{name}",
                body=f"申请人 {row.applicant}；环节“{task.name}”；理由：{reason}", at=ctx.at)
