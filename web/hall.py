"""网上办事大厅: the applicants' side, in the browser (engine/online.py).

The public guide (办事指南) of every item needs no login. An applicant opens an account with their
identity, then applies online with scans, follows their cases, hands in a supplement a one-time
notice asked for, prints the documents issued to them, rates the service (好差评) and complains.
The staff's pages stay behind their own login: an applicant's session reaches none of them.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, session, url_for
from sqlalchemy.exc import IntegrityError

from engine import login_throttle
from engine.commands.applicant import RATINGS
from engine.errors import ApprovalError, NotFound
from engine.guides import load_item
from engine.intake import APPLICANT_FIELDS, APPLICANT_KINDS, ApplicationInvalid
from engine.online import (COMPLAINT_ITEM, NOT_ONLINE, already_registered, change_password, OnlineApplication, PartlyApplied, account_view, apply, authenticate, case_view, complain,
                           complaint_item, item_for_applying, my_cases, open_account, own_case, published_items,
                           own_file, rate, submit_supplement, tracked_case, withdraw)
from engine.people import MIN_PASSWORD
from engine.read.documents import document_view
from engine.store.models import ApplicantAccount
from engine.timelimits.policy import policy_from_json
from engine.versions import current_version
from engine.window import Upload

from .auth import password_gate, record_attempt, safe_next, wait_words
from .context import get_db, get_engine
from .documents import TEMPLATES
from .guides import send_sample
from .window import get_files, uploads_allowed

bp = Blueprint("hall", __name__, url_prefix="/hall")


@bp.before_app_request
def load_account() -> None:
    g.account = None
    account_id = session.get("account_id")
    if account_id is not None:
        with get_db().reader() as db_session:
            account = db_session.get(ApplicantAccount, account_id)
            if account is not None:
                db_session.expunge(account)
                g.account = account


def account_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("account") is None:
            flash("请先登录网上办事大厅")
            return redirect(url_for("hall.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


#: what an applicant holding a temporary password may reach before choosing their own
_WHILE_TEMPORARY = frozenset({"hall.password", "hall.logout", "static", "favicon"})


@bp.before_request
def require_own_password():
    """After a reset at the window, every hall page leads to choosing a password."""
    return password_gate(g.get("account"), _WHILE_TEMPORARY, "hall.password")


@bp.route("/password", methods=["GET", "POST"])
@account_required
def password():
    error = None
    if request.method == "POST":
        try:
            with get_db().transaction() as db_session:
                change_password(db_session, g.account.id, request.form.get("current", ""),
                                request.form.get("new", ""), request.form.get("repeat", ""))
        except ApprovalError as exc:
            error = exc.message
        else:
            flash("新密码已设置，以后请用新密码登录")
            return redirect(url_for("hall.mine"))
    return render_template("hall/password.html", error=error, temporary=g.account.must_change_password,
                           min_password=MIN_PASSWORD), 400 if error else 200


@bp.app_context_processor
def hall_globals():
    return {"current_account": g.get("account")}


# -- the public guide ----------------------------------------------------------------------------

@bp.route("/")
def index():
    query = request.args.get("q", "").strip()[:40]
    with get_db().reader() as db_session:
        groups: dict[str, list] = {}
        for item in published_items(db_session):
            if query and query not in item.name and query.lower() not in item.code.lower():
                continue
            policy = policy_from_json(item.time_policy)
            groups.setdefault(item.department.name, []).append(
                {"code": item.code, "name": item.name, "kind": item.kind, "held": bool(item.hold),
                 "promised_days": policy.promised_days, "statutory_days": policy.statutory_days,
                 "summary": (item.guide or {}).get("summary", "")})
    return render_template("hall/index.html", groups=sorted(groups.items()), q=query)


@bp.route("/items/<code>")
def guide(code: str):
    with get_db().reader() as db_session:
        item = load_item(db_session, code[:64])
        policy = policy_from_json(item.time_policy)
        view = {"code": item.code, "name": item.name, "kind": item.kind, "department": item.department.name,
                "guide": item.guide or {}, "promised_days": policy.promised_days,
                "statutory_days": policy.statutory_days, "held": (item.hold or {}).get("reason"),
                "kinds": [APPLICANT_KINDS[k] for k in (item.guide or {}).get("applicant_kinds", APPLICANT_KINDS)],
                "online": current_version(db_session, item) is not None
                and item.code not in NOT_ONLINE}
    return render_template("hall/guide.html", item=view)


@bp.route("/items/<code>/samples/<sha256>")
def sample(code: str, sha256: str):
    """A material's sample form (示范文本): published with the guide, for everyone."""
    return send_sample(code, sha256)


# -- accounts ------------------------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return render_template("hall/register.html", values={}, problems={}, error=None,
                               kinds=APPLICANT_KINDS, fields=APPLICANT_FIELDS, min_password=MIN_PASSWORD)
    data = request.form
    kind = data.get("applicant_kind", "")
    info = {"kind": kind or None}
    for key, _ in APPLICANT_FIELDS.get(kind, ()):
        info[key] = data.get(f"{kind}_{key}", "")
    # an identity already registered is counted like a failed login, per address: nobody learns
    # which numbers have accounts by trying them all
    address, now = f"register:{request.remote_addr}", get_engine().clock.now()
    with get_db().reader() as db_session:
        wait = login_throttle.retry_after(db_session, "", address, now)
    if wait:
        return render_template("hall/register.html", values=data, problems={},
                               error=f"尝试次数过多，请在 {wait_words(wait)}后再试。", kinds=APPLICANT_KINDS,
                               fields=APPLICANT_FIELDS, min_password=MIN_PASSWORD), 429, {"Retry-After": str(wait)}
    try:
        try:
            with get_db().transaction() as db_session:
                account = open_account(db_session, info, data.get("password", ""), data.get("repeat", ""),
                                       at=now)
                account_id, name = account.id, account.name
        except IntegrityError:  # the same identity registered a moment ago
            raise already_registered(kind) from None
    except ApprovalError as exc:
        problems = exc.problems if isinstance(exc, ApplicationInvalid) else {}
        if any("已注册" in p for p in problems.values()):
            record_attempt(login_throttle.record_failure, "", address, now)
        return render_template("hall/register.html", values=data, problems=problems, error=exc.message,
                               kinds=APPLICANT_KINDS, fields=APPLICANT_FIELDS, min_password=MIN_PASSWORD), 400
    _sign_in(account_id)
    flash(f"{name}，您的账号已开通。以后请用证件号码和密码登录。")
    return redirect(safe_next(request.args.get("next")) or url_for("hall.mine"))


def _sign_in(account_id: int) -> None:
    current_app.session_interface.regenerate(session)  # a fresh id: no session fixation
    session.clear()
    session["account_id"] = account_id


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("hall/login.html", error=None)
    login_name = request.form.get("login", "").strip().upper()[:18]
    key = f"hall:{login_name}"
    # counted apart from the staff's logins: failures at a public kiosk never block the staff
    address = f"hall:{request.remote_addr}"
    now = get_engine().clock.now()
    with get_db().reader() as db_session:
        wait = login_throttle.retry_after(db_session, key, address, now)
        account = None if wait else authenticate(db_session, login_name, request.form.get("password", ""))
        account_id = account.id if account is not None else None
    if wait:
        return _too_many(wait)
    if account_id is None:
        wait = record_attempt(login_throttle.record_failure, key, address, now)
        if wait:
            return _too_many(wait)
        return render_template("hall/login.html", error="证件号码或密码错误"), 401
    record_attempt(login_throttle.record_success, key)
    _sign_in(account_id)
    return redirect(safe_next(request.args.get("next")) or url_for("hall.mine"))


def _too_many(wait: int):
    return render_template("hall/login.html", error=f"登录失败次数过多，请在 {wait_words(wait)}后再试。"), 429, \
        {"Retry-After": str(wait)}


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("已退出网上办事大厅")
    return redirect(url_for("hall.index"))


@bp.route("/track", methods=["GET", "POST"])
def track():
    """办件查询 by case number and 查询码 (both on the 收件凭证), for walk-in applications; posted,
    never in a URL. Failed lookups are throttled per case and per address like failed logins, so
    that a code cannot be guessed."""
    if request.method == "GET":
        return render_template("hall/track.html", error=None, number="")
    number = request.form.get("number", "").strip()[:64]
    key = f"track:{number}"  # counted per case and per address, apart from any login
    address = f"track:{request.remote_addr}"
    now = get_engine().clock.now()
    with get_db().reader() as db_session:
        wait = login_throttle.retry_after(db_session, key, address, now)
        if not wait:
            try:
                view = tracked_case(db_session, number, request.form.get("code", ""))
            except NotFound as exc:
                view, error = None, exc.message
    if wait:
        return render_template("hall/track.html", error=f"查询失败次数过多，请在 {wait_words(wait)}后再试。",
                               number=number), 429, {"Retry-After": str(wait)}
    if view is None:
        record_attempt(login_throttle.record_failure, key, address, now)
        return render_template("hall/track.html", error=error, number=number), 404
    return render_template("hall/case.html", case=view, ratings=RATINGS)


# -- the applicant's own cases -------------------------------------------------------------------

@bp.route("/my/")
@account_required
def mine():
    with get_db().reader() as db_session:
        cases = my_cases(db_session, g.account)
    return render_template("hall/mine.html", cases=cases, account=account_view(g.account))


@bp.route("/apply/<code>", methods=["GET", "POST"])
@account_required
@uploads_allowed
def apply_form(code: str):
    if code == COMPLAINT_ITEM:  # a complaint has its own page
        return redirect(url_for("hall.complaint"))
    with get_db().reader() as db_session:
        item = item_for_applying(db_session, code)
        guide = item.guide or {}
        form = {"code": item.code, "name": item.name, "department": item.department.name,
                "fields": guide.get("application", []), "materials": guide.get("materials", []),
                "kinds": guide.get("applicant_kinds", list(APPLICANT_KINDS))}
    account = account_view(g.account)
    if request.method == "GET":
        return render_template("hall/apply.html", form=form, account=account, values={}, problems={}, error=None)
    data = request.form
    application = {f["name"]: data.get(f"app_{f['name']}", "") for f in form["fields"]}
    uploads = [Upload(m["name"], file.filename, file.read()) for i, m in enumerate(form["materials"])
               for file in request.files.getlist(f"file_{i}") if file and file.filename]
    try:
        number = apply(get_engine(), g.account, OnlineApplication(code, application, tuple(uploads)), get_files())
    except PartlyApplied as exc:  # the case exists: on to it, never the form again (a second case)
        flash(exc.message, "error")
        return redirect(url_for("hall.case", number=exc.number))
    except ApprovalError as exc:
        if exc.code in ("not_allowed", "not_found"):
            raise
        problems = exc.problems if isinstance(exc, ApplicationInvalid) else {}
        return render_template("hall/apply.html", form=form, account=account, values=data, problems=problems,
                               error=exc.message), 400
    flash(f"申请已提交，办件编号 {number}。窗口将在受理时限内审核您的材料，结果会显示在本页。")
    return redirect(url_for("hall.case", number=number))


@bp.route("/my/<number>")
@account_required
def case(number: str):
    with get_db().reader() as db_session:
        view = case_view(db_session, g.account, number)
    return render_template("hall/case.html", case=view, ratings=RATINGS)


@bp.route("/my/<number>/supplement", methods=["POST"])
@account_required
@uploads_allowed
def supplement(number: str):
    with get_db().reader() as db_session:
        names = [m["name"] for m in own_case(db_session, g.account, number).started_guide.get("materials", [])]
    uploads = [Upload(name, file.filename, file.read()) for i, name in enumerate(names)
               for file in request.files.getlist(f"file_{i}") if file and file.filename]
    try:
        count = submit_supplement(get_engine(), g.account, number, uploads, request.form.get("note", ""), get_files())
    except ApprovalError as exc:
        if exc.code in ("not_allowed", "not_found"):
            raise
        flash(f"补正材料未提交：{exc.message}", "error")
    else:
        flash(f"已提交补正材料 {count} 份，窗口核对后会继续办理。")
    return redirect(url_for("hall.case", number=number))


@bp.route("/my/<number>/rating", methods=["POST"])
@account_required
def rating(number: str):
    score, comment = request.form.get("score", ""), request.form.get("comment", "")
    try:
        rate(get_engine(), g.account, number, score, comment)
    except ApprovalError as exc:
        if exc.code in ("not_allowed", "not_found"):
            raise
        # said beside the form, with the grade and the words kept (a banner at the top is off-screen)
        with get_db().reader() as db_session:
            view = case_view(db_session, g.account, number)
        return render_template("hall/case.html", case=view, ratings=RATINGS, rating_error=exc.message,
                               rating_values={"score": score, "comment": comment}), 400
    flash("感谢您的评价。")
    return redirect(url_for("hall.case", number=number, _anchor="rating"))


@bp.route("/my/<number>/withdrawal", methods=["POST"])
@account_required
def withdrawal(number: str):
    try:
        withdraw(get_engine(), g.account, number, request.form.get("reason", ""), bool(request.form.get("confirm")))
    except ApprovalError as exc:
        if exc.code in ("not_allowed", "not_found"):
            raise
        flash(f"未撤回：{exc.message}", "error")
    else:
        flash("申请已撤回，办件已终止。如需办理，可重新申请。")
    return redirect(url_for("hall.case", number=number))


@bp.route("/my/<number>/files/<int:file_id>")
@account_required
def file(number: str, file_id: int):
    """A scan of one's own case, only as a download (as the staff's, web/window.py)."""
    with get_db().reader() as db_session:
        row = own_file(db_session, g.account, number, file_id)
        filename, content_type, sha = row.filename, row.content_type, row.sha256
    response = send_file(get_files().path_of(sha), mimetype=content_type, as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/my/<number>/documents/<kind>")
@bp.route("/my/<number>/documents/<kind>/<int:n>")
@account_required
def document(number: str, kind: str, n: int = 1):
    if kind not in TEMPLATES:
        raise NotFound("没有这种文书")
    with get_db().reader() as db_session:
        doc = document_view(db_session, own_case(db_session, g.account, number), kind, n)
    return render_template(f"documents/{TEMPLATES[kind]}", doc=doc, applicant=doc["application"]["applicant"])


@bp.route("/complaint", methods=["GET", "POST"])
@account_required
def complaint():
    about = (request.values.get("case") or "").strip()[:64]
    with get_db().reader() as db_session:
        if complaint_item(db_session) is None:
            raise NotFound("本中心未开通网上投诉，请拨打 12345 热线")
        cases = my_cases(db_session, g.account)
    if request.method == "GET":
        return render_template("hall/complaint.html", about=about, cases=cases, error=None, content="")
    try:
        number = complain(get_engine(), g.account, about, request.form.get("content", ""))
    except ApprovalError as exc:
        if exc.code == "not_allowed":
            raise
        return render_template("hall/complaint.html", about=about, cases=cases, error=exc.message,
                               content=request.form.get("content", "")), 400
    flash(f"投诉已提交，编号 {number}。12345 热线将在 1 个工作日内受理并交承办单位办理。")
    return redirect(url_for("hall.case", number=number))
