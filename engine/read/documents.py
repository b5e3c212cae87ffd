"""What the printed official documents (文书) of a case say, as the case is now.

The 收件凭证 (receipt) is always there; every other document exists once the command that
issues it has run (``engine.documents``) and shows the number drawn then. Everything else —
the applicant, the materials, and every date — is read from the case as it is when printed,
and every end date comes from ``end_dates`` (the decision clock's deadlines), so a sheet
printed after an extension shows the extended date, and no two dates on a sheet disagree.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import documents as numbering
from engine.clock import CHINA_TZ
from engine.people import display_names
from engine.errors import NotFound
from engine.read.application import application_view
from engine.store.enums import DocumentKind
from engine.store.models import Case, Clock, Deadline, Department, Document, HistoryEntry
from engine.timelimits.policy import policy_from_json

RECEIPT = "receipt"
RECEIPT_TITLE = "收件凭证"
#: the order documents are listed in, as a case goes
ORDER = (RECEIPT, DocumentKind.SUPPLEMENT_NOTICE, DocumentKind.ACCEPTANCE_NOTICE, DocumentKind.REFUSAL_NOTICE,
         DocumentKind.GRANT_DECISION, DocumentKind.DENIAL_DECISION)
TITLES = {RECEIPT: RECEIPT_TITLE, **{k.value: k.label for k in DocumentKind}}
_DIGITS = "〇一二三四五六七八九"


def chinese_date(value: date | datetime | None) -> str:
    """2026年11月24日 (China time for a moment): the one date format of every document."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(CHINA_TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def end_dates(session: Session, case: Case) -> dict[str, Any]:
    """The case's promised and statutory end dates, from the decision clock's deadlines (moved
    by an extension, a suspended period or a calendar change as they happen); before acceptance
    only the limits in working days. The one source of end dates for printed sheets."""
    policy = policy_from_json(case.started_policy)
    out: dict[str, Any] = {"promised_days": policy.promised_days, "statutory_days": policy.statutory_days,
                           "promised_on": None, "statutory_on": None, "provisional": False,
                           "extended_days": 0, "same_day": policy.promised_days == 0 or policy.statutory_days == 0}
    clock = session.scalar(select(Clock).where(Clock.case_id == case.id, Clock.kind == "decision"))
    if clock is None:
        return out
    out["extended_days"] = clock.extended_days or 0
    promised = (clock.detail or {}).get("promised_days") is not None
    for d in session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.clock_id == clock.id)
                          .order_by(Deadline.due_at)):
        if d.kind == "yellow" and promised:
            out["promised_on"] = d.due_on
        elif d.kind in ("red", "deemed"):
            out["statutory_on"] = d.due_on
        else:
            continue
        out["provisional"] = out["provisional"] or d.provisional
    if not promised:
        out["promised_on"] = None
    return out


def authority(case: Case) -> str:
    """The issuing authority: the name the item declares, else its department's full official
    name, else the department's name."""
    department = case.item.department
    return numbering.settings(case.item).get("authority") or department.official_name or department.name


def review_body(session: Session, case: Case) -> str:
    """Where to apply for 行政复议: the item's declared body, else the people's government the
    department belongs to (本级人民政府, 行政复议法 art. 24), else the words themselves."""
    declared = numbering.settings(case.item).get("review_body")
    if declared:
        return declared
    department: Department = case.item.department
    government = department.parent
    while government is not None and government.level != department.level:
        government = government.parent
    return (government.official_name or government.name) if government is not None else "本级人民政府"


def _issued(session: Session, case: Case) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id)))


def document_list(session: Session, case: Case) -> list[dict[str, Any]]:
    """The documents the case offers for printing, in the order of the case: the receipt, then
    each issued document (a second one-time notice is listed as its own)."""
    rows = _issued(session, case)
    out = [{"kind": RECEIPT, "title": RECEIPT_TITLE, "number": None, "n": 1, "issued_on": chinese_date(case.started_at)}]
    for kind in ORDER[1:]:
        same = [r for r in rows if r.kind == kind]
        for n, row in enumerate(same, 1):
            title = TITLES[kind] + (f"（第 {n} 次）" if len(same) > 1 else "")
            out.append({"kind": kind.value, "title": title, "number": row.number, "n": n,
                        "issued_on": chinese_date(row.issued_at)})
    return out


def rights_text(session: Session, case: Case) -> str:
    """The applicant's remedies against a refusal (行政复议法, 行政诉讼法第四十六条)."""
    return (f"如不服本决定，可以自收到本决定书之日起六十日内，依照《中华人民共和国行政复议法》的规定向"
            f"{review_body(session, case)}申请行政复议；也可以自收到本决定书之日起六个月内，依照"
            f"《中华人民共和国行政诉讼法》第四十六条的规定直接向人民法院提起行政诉讼。")


def document_view(session: Session, case: Case, kind: str, n: int = 1) -> dict[str, Any]:
    """Everything one printed document shows; ``NotFound`` when it does not apply (yet)."""
    title = TITLES.get(kind)
    if title is None:
        raise NotFound(f"没有“{kind}”这种文书")
    guide = case.item.guide or {}
    view: dict[str, Any] = {
        "kind": kind, "title": title, "authority": authority(case), "case_number": case.number,
        "query_code": case.query_code,
        "item_name": case.item.name, "application": application_view(session, case),
        "phone": (guide.get("complaint") or {}).get("phone", ""), "dates": end_dates(session, case),
        "received_on": chinese_date(case.started_at), "accepted_on": chinese_date(case.accepted_at),
        "legal_basis": guide.get("legal_basis", []), "certificate_no": case.certificate_no,
        "issue_days": policy_from_json(case.started_policy).issue_days,
    }
    for key in ("promised_on", "statutory_on"):
        view["dates"][key + "_text"] = chinese_date(view["dates"][key])
    for m in view["application"]["materials"]:  # 容缺: the date it is due, as every date on the sheet
        m["due_on_text"] = chinese_date(date.fromisoformat(m["due_on"])) if m.get("due_on") else ""
    if kind == RECEIPT:
        if n != 1:
            raise NotFound(f"办件 {case.number} 只有一份{title}")
        first = session.scalar(select(HistoryEntry.actor).where(HistoryEntry.case_id == case.id, HistoryEntry.seq == 1))
        view.update(number=None, issued_on=chinese_date(case.started_at),
                    clerk=display_names(session, {first}).get(first, "") if first else "")
        return view
    rows = [r for r in _issued(session, case) if r.kind == kind]
    if not 1 <= n <= len(rows):
        raise NotFound(f"办件 {case.number} 尚未出具{title}" + (f"（第 {n} 次）" if n > 1 else "")
                       + "：该文书在相应的办理环节完成后才能打印")
    row = rows[n - 1]
    detail = row.detail or {}
    view.update(number=row.number, issued_on=chinese_date(row.issued_at),
                clerk=display_names(session, {row.issued_by}).get(row.issued_by, ""),
                reason=detail.get("opinion", ""), materials=detail.get("materials", []), note=detail.get("note", ""),
                round=n if len(rows) > 1 else None)
    if kind in (DocumentKind.REFUSAL_NOTICE, DocumentKind.DENIAL_DECISION):
        view["rights"] = rights_text(session, case)
    return view
