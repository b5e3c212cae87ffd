"""Official documents (文书): which command issues which, and their numbers (文号).

A document is numbered once, by the command that issues it — 受理 or 不予受理 on the
acceptance step, the one-time notice (一次性告知), 准予 or 不予许可 on the decision step —
and stored in ``documents``. The number goes into the command's result, so a replay takes
it from the record instead of drawing a new one (like a case number).

An item's catalogue entry may give its rule (``documents.number``) with the placeholders
``{prefix}`` (``documents.prefix``, else the item's name), ``{word}`` (the kind's word: 受,
不受, 补, 许, 不许), ``{year}`` and ``{seq}``; the default is ``{prefix}{word}〔{year}〕{seq}号``.
The sequence is per series: the rule written out without ``{seq}``, so every item and year
(and kind, where the rule has ``{word}``) counts from 1, and two items that print the same
series share its counter rather than its numbers.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from engine.clock import CHINA_TZ
from engine.numbering import next_value
from engine.store.enums import DocumentKind
from engine.store.models import Document, Item, Task

if TYPE_CHECKING:
    from engine.unit_of_work import OpenCase

#: a document of this kind already issued on the case (built once: building costs more than running)
_ISSUED = select(Document.id).where(Document.case_id == bindparam("case_id"), Document.kind == bindparam("kind"))

DEFAULT_RULE = "{prefix}{word}〔{year}〕{seq}号"
PLACEHOLDERS = ("prefix", "word", "year", "seq")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

#: the word each kind puts in its number (受理通知书: 受 …)
WORDS = {DocumentKind.ACCEPTANCE_NOTICE: "受", DocumentKind.REFUSAL_NOTICE: "不受",
         DocumentKind.SUPPLEMENT_NOTICE: "补", DocumentKind.GRANT_DECISION: "许",
         DocumentKind.DENIAL_DECISION: "不许"}

#: (stage, value of the stage's field) → the document that completing the step issues
BY_OUTCOME = {("acceptance", "accept"): DocumentKind.ACCEPTANCE_NOTICE,
              ("acceptance", "refuse"): DocumentKind.REFUSAL_NOTICE,
              ("decision", "grant"): DocumentKind.GRANT_DECISION,
              ("decision", "deny"): DocumentKind.DENIAL_DECISION}


def rule_problem(rule: str) -> str | None:
    """Why a numbering rule cannot be used, or None (checked when the catalogue loads)."""
    if rule.count("{") != rule.count("}"):
        return "花括号不成对"
    names = _PLACEHOLDER.findall(rule)
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return f"未知的占位符 {'、'.join('{' + n + '}' for n in unknown)}（可用：{'、'.join('{' + p + '}' for p in PLACEHOLDERS)}）"
    if names.count("seq") != 1:
        return "须含且只含一个 {seq}（序号）"
    if "year" not in names:
        return "须含 {year}（年度），序号按年度重新起算"
    return None


def settings(item: Item) -> dict[str, Any]:
    """The item's ``documents`` settings from the catalogue (rule, prefix, authority, review body)."""
    return (item.guide or {}).get("documents") or {}


def number_for(session, item: Item, kind: str, at: datetime) -> str:
    """Draw the next number of the item's series for this kind and year."""
    conf = settings(item)
    values = {"prefix": conf.get("prefix") or item.name, "word": WORDS[DocumentKind(kind)],
              "year": str(at.astimezone(CHINA_TZ).year)}
    rule = conf.get("number") or DEFAULT_RULE
    series = rule.replace("{seq}", "#").format(**values)
    name = f"doc:{series}" if len(series) <= 100 else f"doc:{hashlib.sha256(series.encode()).hexdigest()}"
    return rule.format(**values, seq=next_value(session, name))


def issue(case: "OpenCase", kind: str, recorded: str | None, detail: dict[str, Any]) -> dict[str, str] | None:
    """Number and store a document the command issues. ``recorded`` is the number from the
    command's record on replay; ``""`` means the recorded command issued none (it ran before
    documents were numbered), and then none is issued now either."""
    if recorded == "":
        return None
    ctx, row = case.ctx, case.row
    number = recorded or number_for(ctx.session, row.item, kind, ctx.at)
    ctx.session.add(Document(case_id=row.id, kind=kind, number=number, issued_at=ctx.at,
                             issued_by=ctx.actor.name, detail=detail))
    return {"kind": kind, "number": number}


def for_completed_step(case: "OpenCase", task: Task, data: dict[str, Any], recorded: str | None) -> dict | None:
    """The document that completing this step issues (受理通知书, 不予受理决定书, 准予 / 不予
    行政许可决定书), or None. Refusals keep the reason (the clerk's opinion)."""
    if task.kind != "bpmn":
        return None
    stage = case.definition.user_tasks[task.element_id].settings.stage
    kind = BY_OUTCOME.get((stage, data.get(stage))) if stage in ("acceptance", "decision") else None
    if kind is None or kind in settings(case.row.item).get("omit", ()):
        return None  # no such outcome, or the item issues its own paper (结婚证 needs no 准予许可决定书)
    session = case.ctx.session
    pending = any(isinstance(o, Document) and o.case_id == case.row.id and o.kind == kind for o in session.new)
    with session.no_autoflush:  # documents are only added, and those of this command are pending
        if pending or session.scalar(_ISSUED, {"case_id": case.row.id, "kind": kind}):
            return None  # accepted again after a return (退回): the notice already issued stands
    return issue(case, kind, recorded, {"task": task.spiff_id, "opinion": task.opinion or ""})


def recorded_number(result: dict[str, Any]) -> str:
    """The number a recorded command issued ("" when it issued none)."""
    document = result.get("document")
    return document["number"] if isinstance(document, dict) else ""
