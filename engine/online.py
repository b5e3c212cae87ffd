"""网上办事大厅: what an applicant does online, in their own name.

- An **account** is opened with the applicant's identity as a window would register it
  (``engine.intake.check_applicant``): a natural person by their 居民身份证号码, a legal person by
  its 统一社会信用代码, which is also the login. Not a command (an account is not a case), like a
  staff member's password change.
- **Applying** starts a case as the applicant (``StartCase`` with the account), the application
  fields and the applicant checked in full first, then attaches each uploaded scan by its own
  command. The case waits at its item's acceptance step, where the window clerk accepts it, issues
  a one-time notice or refuses it, as for a walk-in application.
- **Tracking** shows the applicant their case as they need it: where it is, by when it will be
  done, what they were told, the documents issued; never the staff's internal steps.
- **Supplementing** uploads what a one-time notice asked for and hands it in (``SubmitSupplement``).
- **Rating** (好差评) is ``RateService``; a complaint is a case of the 12345 item (``complaint_item``).

Rules live here and in the commands; web routes only parse, call and render.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from engine.actors import Actor
from engine.clock import china_date
from engine.commands import AttachMaterial, RateService, StartCase, SubmitSupplement, WithdrawApplication
from engine.commands.applicant import RATINGS, handed_in_since, last_notice, supplement_missing
from engine.commands.base import bounded_text
from engine.errors import ApprovalError, BadInput, Conflict, NotFound
from engine.files import MAX_FILES_PER_CASE, FileStore
from engine.guides import load_item
from engine.intake import APPLICANT_FIELDS, APPLICANT_KINDS, LEGAL, ApplicationInvalid, check_applicant, \
    check_application
from engine.people import changed_password_hash, check_new_password, hash_password
from engine.read.application import started_with
from engine.read.documents import chinese_date, document_list, end_dates
from engine.read.steps import current_values
from engine.read.queries import FIRST_CONTACT_ITEM, items
from engine.runtime.values import check_text
from engine.store.models import (ApplicantAccount, Attachment, Case, Clock, Deadline, Department, HistoryEntry, Item,
                                 Task)
from engine.store.enums import TaskState
from engine.supervision.statistics import COMPLAINT_ITEM
from engine.versions import current_version
from engine.window import MAX_UPLOADS, Upload

#: items the hall does not take applications for: the staff's 首问 request, and complaints (the
#: 12345 item: the hall's 投诉 page starts those)
NOT_ONLINE = (FIRST_CONTACT_ITEM, COMPLAINT_ITEM)
#: how an applicant's own case list is bounded: the newest first
MAX_LISTED = 200
#: cases in progress an account may have at once (applications and complaints)
MAX_OPEN_ONLINE = 20


# -- accounts ------------------------------------------------------------------------------------

def login_of(info: dict[str, str]) -> str:
    return info["credit_code"] if info["kind"] == LEGAL else info["id_number"]


def open_account(session: Session, info: Any, password: str, repeated: str, *, at: datetime) -> ApplicantAccount:
    """A new account for the applicant ``info`` (checked in full, every problem at once, as
    ``ApplicationInvalid``); one account per identity number or credit code."""
    problems: dict[str, str] = {}
    checked = check_applicant(info, problems)
    try:
        check_new_password(password, repeated, checked.get("id_number") or checked.get("credit_code") or "", "密码")
    except BadInput as exc:
        problems["password"] = exc.message
    if problems:
        raise ApplicationInvalid(problems)
    login = login_of(checked)
    if session.scalar(select(ApplicantAccount.id).where(ApplicantAccount.login == login)) is not None:
        raise already_registered(checked["kind"])
    account = ApplicantAccount(login=login, name=checked["name"], info=checked,
                               password_hash=hash_password(password), created_at=at)
    session.add(account)
    session.flush()
    return account


def already_registered(kind: str) -> ApplicationInvalid:
    """The refusal of an identity that has an account (found first, or by a registration racing
    this one to the unique login)."""
    field, what = ("credit_code", "统一社会信用代码") if kind == LEGAL else ("id_number", "身份证号")
    return ApplicationInvalid({f"applicant.{field}": f"该{what}已注册，请直接登录"})


def authenticate(session: Session, login: str, password: str) -> ApplicantAccount | None:
    try:
        login = check_text(login, "证件号码", 18).strip().upper()
    except BadInput:
        return None
    account = session.scalar(select(ApplicantAccount).where(ApplicantAccount.login == login))
    if account is None or not check_password_hash(account.password_hash, password):
        return None
    return account


def change_password(session: Session, account_id: int, current: str, new: str, repeated: str) -> None:
    """The applicant chooses a new password: the current one (or the temporary one from the
    window) right, the new one by the rules of ``check_new_password`` and different."""
    account = session.get(ApplicantAccount, account_id, with_for_update=True)
    if account is None:
        raise NotFound("账号不存在")
    account.password_hash = changed_password_hash(account.password_hash, current, new, repeated, account.login)
    account.must_change_password = False


def find_accounts(session: Session, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Accounts for an administrator at the window: by 证件号码 (whole) or part of the name."""
    text = check_text(text or "", "查找内容", 40).strip()
    if not text:
        return []
    query = select(ApplicantAccount).where(
        (ApplicantAccount.login == text.upper()) | ApplicantAccount.name.contains(text, autoescape=True)
    ).order_by(ApplicantAccount.name, ApplicantAccount.id).limit(limit)
    accounts = list(session.scalars(query))
    counts = dict(session.execute(select(Case.account_id, func.count(Case.id)).where(
        Case.account_id.in_([a.id for a in accounts])).group_by(Case.account_id)).all()) if accounts else {}
    return [{"login": a.login, "name": a.name, "kind": APPLICANT_KINDS[a.info["kind"]],
             "phone": a.info.get("phone", ""), "legal_rep": a.info.get("legal_rep", ""),
             "contact": a.info.get("contact", ""), "created_at": a.created_at, "cases": counts.get(a.id, 0),
             "temporary": a.must_change_password} for a in accounts]


def actor_of(account: ApplicantAccount) -> Actor:
    return Actor.applicant(account.name, account_id=account.id)


# -- the public guide and applying ---------------------------------------------------------------

def published_items(session: Session) -> list[Item]:
    """The items the online hall lists: every one with a deployed process, by department."""
    return [i for i in items(session) if i.code not in NOT_ONLINE]


def item_for_applying(session: Session, code: str) -> Item:
    item = load_item(session, code)
    if item.hold:
        raise Conflict(f"“{item.name}”已暂停受理（{item.hold.get('reason', '')}），暂不能网上申请")
    if item.code in NOT_ONLINE:
        raise NotFound(f"“{item.name}”不在网上申请的事项中；投诉请使用“投诉”页")
    return item


@dataclass(frozen=True)
class OnlineApplication:
    item: str
    application: dict[str, Any]
    uploads: tuple[Upload, ...] = ()


class PartlyApplied(ApprovalError):
    """The case started, but a later step of the application was refused (an item suspended a
    moment ago, say): the case exists and says what it holds; the applicant goes on from there."""

    code = "partly_applied"

    def __init__(self, number: str, message: str):
        self.number = number
        super().__init__(f"申请已提交（办件编号 {number}），但有扫描件未能上传：{message}。请在办件页查看，"
                         "受理时窗口会告知需要补正的材料。")


def _within_limits(session: Session, account: ApplicantAccount) -> None:
    """An account has at most ``MAX_OPEN_ONLINE`` cases in progress: a free account cannot flood
    the windows' 待办 (or the file store)."""
    running = session.scalar(select(func.count(Case.id)).where(Case.account_id == account.id,
                                                               Case.state == "running"))
    if running >= MAX_OPEN_ONLINE:
        raise Conflict(f"您有 {running} 件网上申请正在办理，已达上限（{MAX_OPEN_ONLINE} 件）；"
                       "请待办结后再申请，或到窗口办理")


def apply(engine, account: ApplicantAccount, app: OnlineApplication, files: FileStore) -> str:
    """Apply online: everything checked first (nothing is kept on bad input), then the case
    starts and each scan is attached; returns the case number. ``PartlyApplied`` when the case
    started but a scan could not be attached."""
    actor = actor_of(account)
    with engine.db.reader() as session:
        item = item_for_applying(session, app.item)
        if current_version(session, item) is None:
            raise NotFound(f"“{item.name}”暂未开通网上申请，请到窗口办理")
        _within_limits(session, account)
        guide = item.guide or {}
        materials = {m["name"]: m for m in guide.get("materials", [])}
        kinds = guide.get("applicant_kinds", list(APPLICANT_KINDS))
        problems: dict[str, str] = {}
        if account.info["kind"] not in kinds:
            raise BadInput(f"本事项的申请人只能是{'或'.join(APPLICANT_KINDS[k] for k in kinds)}")
        check_application(guide.get("application", []), app.application, china_date(engine.now()), problems)
        uploaded = {u.material for u in app.uploads}
        for upload in app.uploads:
            if upload.material not in materials:
                raise BadInput(f"“{upload.material}”不是本事项的申请材料")
        # a material the window may accept as missing (容缺) need not be uploaded: the window decides
        missing = [n for n, m in materials.items()
                   if m.get("required") and not m.get("deficiency_allowed") and n not in uploaded]
        if missing:
            problems["materials"] = f"请上传必需材料的扫描件：{'、'.join(missing)}"
        if len(app.uploads) > MAX_UPLOADS:
            problems["uploads"] = f"一次最多上传 {MAX_UPLOADS} 个文件"
        if problems:
            raise ApplicationInvalid(problems)
    stored = [(u, files.put(u.data, u.filename)) for u in app.uploads]
    case = engine.execute(StartCase(item=app.item, applicant=account.name, applicant_info=dict(account.info),
                                    application=app.application, account=account.id), actor)
    try:
        for upload, kept in stored:
            engine.execute(AttachMaterial(case=case.number, material=upload.material, filename=kept.filename,
                                          content_type=kept.content_type, size=kept.size, sha256=kept.sha256),
                           actor)
    except ApprovalError as exc:
        raise PartlyApplied(case.number, exc.message) from exc
    return case.number


def submit_supplement(engine, account: ApplicantAccount, number: str, uploads: list[Upload], note: str,
                      files: FileStore) -> int:
    """Upload what the one-time notice asked for and hand it in; returns how many files."""
    if not uploads:
        raise BadInput("请选择补正材料的扫描件")
    if len(uploads) > MAX_UPLOADS:
        raise BadInput(f"一次最多上传 {MAX_UPLOADS} 个文件")
    actor = actor_of(account)
    bounded_text(note, "说明", required=False)  # checked before any file is attached
    with engine.db.reader() as session:
        case = own_case(session, account, number)
        if case.acceptance != "supplement" or case.state != "running":
            raise Conflict("办件没有待补正的材料")
        names = {m["name"] for m in case.started_guide.get("materials", [])}
        for upload in uploads:
            if upload.material not in names:
                raise BadInput(f"“{upload.material}”不是本事项的申请材料")
        missing = supplement_missing(session, case, actor.name, {u.material for u in uploads})
        if missing:
            raise BadInput(f"请上传一次性告知要求补正的材料：{'、'.join(missing)}")
        held = session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id == case.id))
        if held + len(uploads) > MAX_FILES_PER_CASE:
            raise BadInput(f"每件最多 {MAX_FILES_PER_CASE} 个扫描件，本件已有 {held} 个；请合并后再上传")
    stored = [(u, files.put(u.data, u.filename)) for u in uploads]
    for upload, kept in stored:
        engine.execute(AttachMaterial(case=number, material=upload.material, filename=kept.filename,
                                      content_type=kept.content_type, size=kept.size, sha256=kept.sha256), actor)
    engine.execute(SubmitSupplement(case=number, note=note), actor)
    return len(stored)


def rate(engine, account: ApplicantAccount, number: str, score: Any, comment: str) -> int:
    try:
        score = int(str(score))
    except ValueError:
        raise BadInput(f"请选择评价：{'、'.join(RATINGS.values())}") from None
    return engine.execute(RateService(case=number, score=score, comment=comment), actor_of(account))


def withdraw(engine, account: ApplicantAccount, number: str, reason: str, confirmed: bool) -> None:
    """撤回申请, once the applicant has confirmed it (it cannot be undone)."""
    if not confirmed:
        raise BadInput("撤回后办件即终止，不能恢复：请勾选“确认撤回”后再提交")
    engine.execute(WithdrawApplication(case=number, reason=reason), actor_of(account))


def complaint_item(session: Session) -> Item | None:
    return session.scalar(select(Item).where(Item.code == COMPLAINT_ITEM))


def complain(engine, account: ApplicantAccount, about: str, content: str) -> str:
    """A complaint (效能投诉) about a case of one's own, or about the service in general: a case of
    the 12345 item, started in the applicant's name with the complaint as its content."""
    content = check_text(content or "", "投诉内容", 2000).strip()
    if not content:
        raise BadInput("请写明投诉的事由")
    with engine.db.reader() as session:
        item = complaint_item(session)
        if item is None:
            raise NotFound("本中心未开通网上投诉，请拨打 12345 热线")
        _within_limits(session, account)
        if about:
            case = own_case(session, account, about)
            about = case.number
            content = f"关于办件 {case.number}（{case.item.name}）：{content}"
    case = engine.execute(StartCase(item=COMPLAINT_ITEM, applicant=account.name, applicant_info=dict(account.info),
                                    data={"category": "efficiency", "content": content, **({"about": about} if about else {})},
                                    account=account.id), actor_of(account))
    return case.number


# -- tracking ------------------------------------------------------------------------------------

def own_case(session: Session, account: ApplicantAccount, number: str) -> Case:
    case = session.scalar(select(Case).where(Case.number == number[:64]))
    if case is None or case.account_id != account.id:
        raise NotFound(f"没有找到您的办件 {number}")
    return case


def status(case: Case) -> tuple[str, str]:
    """(words, tone) of where a case stands, as the applicant reads it."""
    if case.state == "voided":
        return "已作废", "muted"
    if case.state == "terminated":
        return "已终止", "muted"
    if case.acceptance == "refused":
        return "不予受理", "bad"
    if case.item.code == COMPLAINT_ITEM:  # a complaint is handled and answered, not licensed
        if case.state == "concluded":
            return "已办结（已答复）", "good"
        return ("待 12345 热线受理", "wait") if case.acceptance is None else ("承办单位办理中", "wait")
    if case.state == "concluded":
        return {"grant": "已办结：准予许可", "deemed_grant": "已办结：视为准予", "deny": "已办结：不予许可"}.get(
            case.decision or "", "已办结"), "good" if case.decision != "deny" else "bad"
    if case.hold:
        return "暂停办理", "muted"
    if case.acceptance == "supplement":
        return "待补正：请按一次性告知补齐材料", "action"
    if case.acceptance is None:
        return "待受理", "wait"
    if case.decision is not None:
        return "已作出决定，待办结", "wait"
    return "审查中", "wait"


SUPPLEMENT_HANDED_IN = ("补正材料已提交，待窗口核对", "wait")


def _status(session: Session, case: Case, withdrawal: str | None = None) -> tuple[str, str]:
    """``status`` with what only the history says: a supplement handed in online, a withdrawal
    (``withdrawal``: its reason, when the caller has read it)."""
    if case.acceptance == "supplement" and case.state == "running" and handed_in_since(session, case):
        return SUPPLEMENT_HANDED_IN
    if withdrawal is None:
        withdrawal = _withdrawal_reason(session, case)
    if withdrawal is not None:
        return "已撤回", "muted"
    return status(case)


def my_cases(session: Session, account: ApplicantAccount) -> list[dict[str, Any]]:
    rows = session.scalars(select(Case).where(Case.account_id == account.id)
                           .order_by(Case.started_at.desc(), Case.id.desc()).limit(MAX_LISTED))
    out = []
    for case in rows:
        words, tone = _status(session, case)
        out.append({"number": case.number, "item": case.item.name, "started_at": case.started_at,
                    "is_complaint": case.item.code == COMPLAINT_ITEM,
                    "status": words, "tone": tone, "rated": case.rating is not None,
                    "to_rate": case.state == "concluded" and case.rating is None})
    return out


def _progress(session: Session, case: Case) -> list[dict[str, Any]]:
    """The case's history as the applicant is told it: what happened to their application, not
    the staff's internal moves (claims, transfers, urges, warnings)."""
    lines: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    concluded = False
    for e in session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id).order_by(HistoryEntry.seq)):
        state = ((e.observed or {}).get("case") or {}) or before
        result = e.payload or {}
        texts: list[str] = []
        if e.command == "start_case":
            texts.append(("提交投诉" if case.item.code == COMPLAINT_ITEM else "提交申请")
                         if e.actor.startswith("applicant:") else "窗口登记收件")
        elif e.command == "attach_material" and e.actor.startswith("applicant:"):
            if lines and lines[-1].get("uploads"):  # one line for the scans uploaded together
                lines[-1]["uploads"] += 1
                lines[-1]["text"] = f"上传材料扫描件 {lines[-1]['uploads']} 份"
            else:
                lines.append({"at": e.at, "text": "上传材料扫描件 1 份", "uploads": 1})
        elif e.command == "request_supplement":
            texts.append("一次性告知：请补正 " + "、".join(result.get("materials") or []))
        elif e.command == "submit_supplement":
            note = (e.inputs or {}).get("note")
            texts.append("已在网上提交补正材料，等待窗口核对" + (f"（您的说明：{note}）" if note else ""))
        elif e.command == "receive_supplement":
            texts.append("窗口已收到补正材料")
        elif e.command in ("extend_deadline", "decide_extension") and result.get("days"):
            texts.append(f"办理期限延长 {result['days']} 个工作日")
        elif e.command == "suspend_clocks":
            texts.append("进入特别程序（听证、检验、检测、专家评审等），所需时间不计入办理期限")
        elif e.command == "resume_clocks":
            texts.append("特别程序结束，继续办理")
        elif e.command == "withdraw_application":
            reason = (e.inputs or {}).get("reason")
            texts.append("您撤回了申请，办件终止" + (f"（理由：{reason}）" if reason else ""))
        elif e.command in ("terminate_case", "void_case"):
            texts.append("办件终止" if e.command == "terminate_case" else "办件作废")
        elif e.command == "rate_service":
            texts.append(f"您的评价：{RATINGS.get(result.get('score'), '')}")
        acceptance, decision = state.get("acceptance"), state.get("decision")
        if acceptance != before.get("acceptance") and acceptance in ACCEPTANCE_WORDS:
            texts.append(ACCEPTANCE_WORDS[acceptance])
        if decision != before.get("decision") and decision in DECISION_WORDS:
            texts.append(DECISION_WORDS[decision])
        if e.case_state == "concluded" and not concluded and acceptance != "refused":
            texts.append("办结")
        concluded = concluded or e.case_state == "concluded"
        lines.extend({"at": e.at, "text": text} for text in texts)
        before = state
    return lines


ACCEPTANCE_WORDS = {"accepted": "已受理", "deemed": "视为受理", "refused": "不予受理"}
DECISION_WORDS = {"grant": "决定：准予许可", "deny": "决定：不予许可", "deemed_grant": "超期未作决定，视为准予许可"}


def case_view(session: Session, account: ApplicantAccount, number: str) -> dict[str, Any]:
    """The applicant's own case, with everything they submitted and the documents issued to them."""
    return _view(session, own_case(session, account, number))


def own_file(session: Session, account: ApplicantAccount, number: str, file_id: int) -> Attachment:
    """A scan of one's own case (what one uploaded, or the window scanned)."""
    case = own_case(session, account, number)
    row = session.scalar(select(Attachment).where(Attachment.id == file_id, Attachment.case_id == case.id))
    if row is None:
        raise NotFound("该文件不存在")
    return row


def tracked_case(session: Session, number: str, code: str) -> dict[str, Any]:
    """办件查询 for anyone holding a case's number and its 查询码 (both on the 收件凭证): where it
    stands and what happened, without what was submitted or the documents. One answer for a
    wrong number and a wrong code. (An identity number would not do: a company's 统一社会信用代码
    is public, and case numbers run in sequence.)"""
    number, code = (number or "").strip().upper()[:64], (code or "").strip()[:8]
    case = session.scalar(select(Case).where(Case.number == number)) if number else None
    if case is None or not case.query_code or not secrets.compare_digest(case.query_code, code):
        raise NotFound("没有找到该办件：请核对办件编号和查询码（均印在收件凭证上）")
    view = _view(session, case)
    view.update(files=[], fields=[], documents=[], may_rate=False, may_withdraw=False, tracked=True)
    return view


def _acceptance_due(session: Session, case: Case):
    """The day the window must decide on acceptance by (视为受理 after it), while it runs."""
    if case.acceptance is not None or case.state != "running":
        return None
    return session.scalar(select(func.min(Deadline.due_on)).join(Clock, Deadline.clock_id == Clock.id).where(
        Clock.case_id == case.id, Clock.kind == "acceptance", Clock.state == "running",
        Deadline.kind.in_(("deemed", "red")), Deadline.state == "armed"))


def _withdrawal_reason(session: Session, case: Case) -> str | None:
    """Why the applicant withdrew (None: not withdrawn)."""
    if case.state != "terminated":
        return None
    inputs = session.scalar(select(HistoryEntry.inputs).where(HistoryEntry.case_id == case.id,
                                                              HistoryEntry.command == "withdraw_application"))
    return None if inputs is None else str(inputs.get("reason") or "")


def _view(session: Session, case: Case) -> dict[str, Any]:
    withdrawal = _withdrawal_reason(session, case)
    words, tone = _status(session, case, withdrawal)
    steps = []
    if case.state == "running":
        for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.READY)
                                    .order_by(Task.id)):
            department = session.get(Department, task.department_id)
            steps.append(f"{task.name}（{department.name if department else ''}）")
    guide = case.started_guide
    materials = [m["name"] for m in guide.get("materials", [])]
    asked: list[str] = []
    files = session.execute(select(Attachment.id, Attachment.material, Attachment.filename, Attachment.uploaded_at)
                            .where(Attachment.case_id == case.id).order_by(Attachment.id)).all()
    supplement = None
    if case.acceptance == "supplement" and case.state == "running":
        notice = last_notice(session, case)
        submitted = handed_in_since(session, case, notice) is not None
        payload = (notice.payload or {}) if notice is not None else {}
        asked = payload.get("materials") or []
        supplement = {"materials": asked, "note": payload.get("note") or "",
                      "at": notice.at if notice is not None else None, "submitted": submitted,
                      # the upload rows: what the notice asked for first (each keeps its material's index)
                      "rows": sorted(((i, name, name in asked) for i, name in enumerate(materials)),
                                     key=lambda row: not row[2])}
    complaint = case.item.code == COMPLAINT_ITEM
    said, about, answer = "", "", ""
    if complaint:  # what the applicant wrote: the data the complaint started with
        data = started_with(session, case)
        said, about = str(data.get("content", "")), str(data.get("about", ""))
        answer = str(current_values(session, case).get("answer_text") or "")  # the hotline's 答复内容
    ends = end_dates(session, case)
    application = case.application or {}
    fields = [(f["label"], application[f["name"]]) for f in guide.get("application", []) if f["name"] in application]
    return {"number": case.number, "item": case.item.name, "item_code": case.item.code,
            "department": case.item.department.name, "started_at": case.started_at,
            "concluded_at": case.concluded_at, "certificate_no": case.certificate_no,
            "status": words, "tone": tone, "state": case.state, "steps": steps,
            "promised_on": chinese_date(ends["promised_on"]) if ends["promised_on"] else "",
            "statutory_on": chinese_date(ends["statutory_on"]) if ends["statutory_on"] else "",
            "promised_days": ends["promised_days"], "statutory_days": ends["statutory_days"],
            "provisional": ends["provisional"], "progress": _progress(session, case),
            "materials": materials,
            "files": [{"id": i, "material": m, "filename": f, "at": at} for i, m, f, at in files],
            "supplement": supplement, "fields": fields,
            # a complaint is answered by the hotline, not by a licensing authority's papers
            "documents": [] if complaint else document_list(session, case),
            "is_complaint": complaint, "said": said, "about": about, "answer": answer,
            "withdrawal": withdrawal,
            "acceptance_due": chinese_date(due) if (due := _acceptance_due(session, case)) else "",
            "rating": case.rating, "rating_words": RATINGS.get(case.rating) if case.rating else "",
            "may_rate": case.state == "concluded" and case.rating is None,
            "may_withdraw": case.state == "running" and case.decision is None and not case.hold
                            and case.account_id is not None,
            "complaint": guide.get("complaint") or {}, "tracked": False,
            "online": case.account_id is not None}


def _partly(number: str) -> str:
    return number[:6] + "*" * max(0, len(number) - 10) + number[-4:] if len(number) > 10 else number


def account_view(account: ApplicantAccount) -> dict[str, Any]:
    """The account's identity as shown to its holder, the identity number partly hidden (the
    centre's PCs are shared): the first six and last four characters."""
    info = account.info
    shown = [(label, _partly(info.get(key, "")) if key in ("id_number", "credit_code") else info.get(key, ""))
             for key, label in APPLICANT_FIELDS[info["kind"]]]
    return {"name": account.name, "kind": APPLICANT_KINDS[info["kind"]], "fields": shown, "login": account.login}
