"""电子监察 pages: the board of carded cases, findings, 效能告诫, statistics. Routes parse, call
the engine and render; the rules are in engine/supervision."""
from __future__ import annotations

import re

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask import session as web_session

from engine.clock import china_date
from engine.commands import COMMANDS, DecideWarning, DetectFindings, IssueWarning
from engine.errors import BadInput, Conflict, NotAllowed, NotFound
from engine.supervision.board import board, board_scope
from engine.supervision.ratings import ratings_view
from engine.supervision.report import monthly_report, report_csv, report_xlsx
from engine.supervision.scheme import targets
from engine.supervision.statistics import CASES_OF, FIGURES, GROUPS, statistics
from engine.supervision.views import (ACT_BUTTONS, CASES_LISTED, FINDING_ACTS, FieldError, cases_listing, findings_page,
                                      month_of, period_of, warning_draft, warnings_page)
from engine.supervision.warnings import parse_finding_numbers

from .auth import login_required
from .charts import trend_chart
from .context import get_db, get_engine

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


@bp.route("/")
@login_required
def index():
    engine = get_engine()
    with get_db().reader() as session:
        view = board(session, g.actor, engine.calendar(session), china_date(engine.now()),
                     **{k: request.args.get(k, "")[:64] for k in ("department", "item", "card", "window")})
    return render_template("supervision/board.html", view=view, today=china_date(engine.now()))


@bp.route("/findings")
@login_required
def findings():
    refused = web_session.pop("finding_refused", None)  # an act refused just before: said at the top and at the card
    errors, notes = {}, {}
    if isinstance(refused, dict) and isinstance(refused.get("id"), int):
        errors[refused["id"]] = f"{refused.get('act', '')}未完成：{refused.get('message', '')}"[:500]
        notes[refused["id"]] = str(refused.get("note", ""))[:2000]
    return _findings(request.args.get("state", "")[:16], request.args.get("kind", "")[:32],
                     case=request.args.get("case", "")[:64], department=request.args.get("department", "")[:64],
                     errors=errors, notes=notes)


def _findings(state: str, kind: str, *, case: str = "", department: str = "", errors=None, notes=None,
              status: int = 200):
    with get_db().reader() as db_session:
        view = findings_page(db_session, g.actor, state=state, kind=kind, case=case, department=department)
    return render_template("supervision/findings.html", view=view, errors=errors or {}, notes=notes or {}), status


def _back_to_findings(anchor: str | None = None):
    """The findings list the form was on, with its filters (the form's ``back_*`` fields)."""
    filters = {name: request.form.get(f"back_{name}", "")[:64] for name in ("state", "kind", "case", "department")}
    return redirect(url_for("supervision.findings", **{k: v for k, v in filters.items() if v}, _anchor=anchor))


@bp.route("/findings/detect", methods=["POST"])
@login_required
def detect():
    found = get_engine().execute(DetectFindings(), g.actor)
    flash(f"电子监察扫描完成，新发现 {len(found)} 项")
    return redirect(url_for("supervision.findings"))


@bp.route("/findings/<int:finding>/<act>", methods=["POST"])
@login_required
def act(finding: int, act: str):
    if act not in FINDING_ACTS:
        raise BadInput("没有这项操作")
    note = request.form.get("note", "")
    command = COMMANDS[act](finding=finding, note=note)
    try:
        get_engine().execute(command, g.actor)
    except (BadInput, Conflict) as exc:
        # back to the list at the finding: the message at the top and at the card, the note kept
        web_session["finding_refused"] = {"id": finding, "message": exc.message, "note": note[:2000],
                                          "act": ACT_BUTTONS[act]}
        return _back_to_findings(f"finding-{finding}")
    flash(f"监察事项第 {finding} 号：已{type(command).label}")
    return _back_to_findings()


@bp.route("/warnings", methods=["GET", "POST"])
@login_required
def warnings():
    if request.method == "POST":
        cases = tuple(n for n in re.split(r"[,，、;；\s]+", request.form.get("cases", "")[:2000]) if n)
        target = request.form.get("target", "person")
        if target == "person" and not request.form.get("user"):
            return _warnings(error="请选择要告诫的人员", typed=request.form)
        if target == "unit" and not request.form.get("department"):
            return _warnings(error="请选择要告诫的单位", typed=request.form)
        try:
            findings_ids = parse_finding_numbers(request.form.get("findings", "")[:2000])
            row = get_engine().execute(IssueWarning(
                user=request.form.get("user", "") if target == "person" else "",
                department=request.form.get("department", "") if target == "unit" else "",
                reason=request.form.get("reason", ""), cases=cases, findings=findings_ids), g.actor)
        except (BadInput, NotFound, Conflict) as exc:  # a typo in a case number: the form again, as typed
            return _warnings(error=exc.message, typed=request.form)
        flash(f"已发出效能告诫（第 {row['warning']} 号）")
        return redirect(url_for("supervision.warnings"))
    finding = request.args.get("finding", "")[:12]
    if finding and g.actor.has_role("supervisor"):  # 发出效能告诫 from a finding: the form filled in from it
        if not finding.isdigit():
            return _warnings(error=f"监察事项编号应为数字，收到“{finding}”")
        with get_db().reader() as session:
            try:
                draft = warning_draft(session, int(finding))
            except NotFound as exc:
                return _warnings(error=exc.message)
        return _warnings(typed=draft, status=200)
    return _warnings()


def _warnings(*, error: str = "", typed=None, status: int | None = None, decide_error=None):
    with get_db().reader() as session:
        view = warnings_page(session, g.actor)
    typed = {k: (typed.get(k) or "")[:2000] for k in ("target", "user", "department", "reason", "cases", "findings")} \
        if typed is not None else {}
    return render_template("supervision/warnings.html", view=view, error=error, typed=typed,
                           decide_error=decide_error or {}), \
        status if status is not None else (400 if error or decide_error else 200)


@bp.route("/warnings/<int:warning>/decide", methods=["POST"])
@login_required
def decide_warning(warning: int):
    confirm = request.form.get("confirm") == "1"
    note = request.form.get("note", "")
    try:
        get_engine().execute(DecideWarning(warning=warning, confirm=confirm, note=note), g.actor)
    except (BadInput, NotFound, Conflict) as exc:  # the page again, the message at the proposal, the note kept
        return _warnings(decide_error={"id": warning, "message": exc.message, "note": note[:2000]})
    flash("已确认告诫单位负责人" if confirm else "已决定不予告诫")
    return redirect(url_for("supervision.warnings"))


def _period():
    """The period the page asks for; a bad one raises ``FieldError`` (the page shows it at the field)."""
    today = china_date(get_engine().now())
    kind = request.args.get("period", "month")[:16]
    return (kind, *period_of(kind, request.args.get("value", "")[:16], request.args.get("start", "")[:16],
                             request.args.get("end", "")[:16], today))


@bp.route("/stats")
@login_required
def stats():
    group = request.args.get("group", "department")[:32]
    error = None
    with get_db().reader() as session:
        scope = board_scope(session, g.actor)
        try:
            kind, start, end, title = _period()
        except FieldError as exc:  # the form again as typed, the message at the field
            kind, title, view, error = request.args.get("period", "month")[:16], "统计期间有误", None, exc
        else:
            view = statistics(session, get_engine().calendar(session), start, end, group,
                              department_id=scope.department_id)
    return render_template("supervision/stats.html", view=view, title=title, groups=GROUPS, figures=FIGURES,
                           targets=targets(), period=kind, args=request.args, scope=scope, group=group,
                           error=error), 400 if error else 200


@bp.route("/ratings")
@login_required
def ratings():
    """好差评: the ratings given in the period, the poor ones first (to follow up)."""
    error = None
    with get_db().reader() as session:
        scope = board_scope(session, g.actor)
        try:
            kind, start, end, title = _period()
        except FieldError as exc:
            kind, title, view, error = request.args.get("period", "month")[:16], "评价期间有误", None, exc
        else:
            view = ratings_view(session, start, end, department_id=scope.department_id,
                                poor_only=request.args.get("poor") == "1")
    return render_template("supervision/ratings.html", view=view, title=title, period=kind, args=request.args,
                           scope=scope, target=targets().get("satisfaction_rate"), error=error,
                           poor_only=request.args.get("poor") == "1"), 400 if error else 200


@bp.route("/stats/cases")
@login_required
def stats_cases():
    kind, start, end, title = _period()
    group, key, figure = request.args.get("group", "department"), request.args.get("key", ""), request.args.get("figure", "")
    if figure not in FIGURES:
        raise BadInput("没有这项统计")
    with get_db().reader() as session:
        scope = board_scope(session, g.actor)
        view = statistics(session, get_engine().calendar(session), start, end, group,
                          department_id=scope.department_id)
        row = next((r for r in [*view["rows"], view["total"]] if r["key"] == key), None)
        if row is None:
            raise BadInput("没有这一行统计")
        numbers = view["cases"][key].get(CASES_OF.get(figure, figure), [])
        cases = cases_listing(session, numbers)
    return render_template("supervision/stats_cases.html", cases=cases, total=len(numbers), limit=CASES_LISTED,
                           row=row, figure=FIGURES[figure], title=title, args=request.args)


def _month() -> tuple[int, int]:
    return month_of(request.args.get("value", "")[:16], china_date(get_engine().now()))


def _supervisor_only():
    if not g.actor.has_role("supervisor"):
        raise NotAllowed("月度通报和考核只对监察员开放")


@bp.route("/report")
@login_required
def report():
    """月度通报: printable."""
    _supervisor_only()
    try:
        year, month = _month()
    except FieldError as exc:  # the month field again as typed, the message beside it
        return render_template("supervision/report.html", report=None, value=request.args.get("value", "")[:16],
                               error=exc, chart=None, targets=targets()), 400
    now = get_engine().now()
    with get_db().reader() as session:
        view = monthly_report(session, get_engine().calendar(session), year, month, today=china_date(now))
    return render_template("supervision/report.html", report=view, value=f"{year:04d}-{month:02d}",
                           chart=trend_chart(view["trend"]), targets=targets(), error=None)


@bp.route("/report.csv")
@login_required
def report_export():
    _supervisor_only()
    year, month = _month()
    with get_db().reader() as session:
        view = monthly_report(session, get_engine().calendar(session), year, month, trend=False,
                              today=china_date(get_engine().now()))
    return Response(report_csv(view), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=report-{year:04d}-{month:02d}.csv"})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/report.xlsx")
@login_required
def report_excel():
    """月度通报 as an Excel workbook (the same rows as the CSV, a sheet per part)."""
    _supervisor_only()
    year, month = _month()
    with get_db().reader() as session:
        view = monthly_report(session, get_engine().calendar(session), year, month, trend=False,
                              today=china_date(get_engine().now()))
    return Response(report_xlsx(view), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=report-{year:04d}-{month:02d}.xlsx"})
