"""The monthly report (月度通报): units ranked by assessment score with their figures, the late
cases, the findings and the 效能告诫 of the month, a six-month trend (finished months stored in
``trend_figures`` once computed); printable, as CSV and as an Excel workbook."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import CHINA_TZ, china_date
from engine.store.enums import CaseState, FindingKind, FindingState, WarningState, WarningTarget
from engine.store.db import Database
from engine.store.models import Case, EfficiencyWarning, Finding, HistoryEntry, Item, TrendFigures
from engine.timelimits.workdays import WorkCalendar, calendar_version

from .assessment import assess
from .facts import day_range
from .statistics import statistics

TREND_MONTHS = 6


def month_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = date(year + (month == 12), 1 if month == 12 else month + 1, 1) - timedelta(days=1)
    return start, end


def _previous(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + month - 1 - back
    return index // 12, index % 12 + 1


def _period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


TREND_FIGURES = ("received", "concluded", "on_time_rate")
#: the figures' definitions (docs/supervision.md); stored months computed under other ones are recomputed
#: (2: 不予受理 is no 办结, 现场办结 needs a decision)
DEFINITIONS = 2


def _trend(session: Session, calendar: WorkCalendar, year: int, month: int, this_month: dict[str, Any],
           today: date | None, scheme: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The six months up to (year, month), each as {"label", "received", "concluded",
    "on_time_rate"}, and the months to remember: those that ended before ``today`` (China date on
    the injected clock; none when None) and were not remembered yet with this working-day calendar.
    A finished month's figures no longer change, so they come from ``trend_figures`` once stored."""
    periods = [_previous(year, month, back) for back in range(TREND_MONTHS - 1, -1, -1)]
    version = calendar_version(session)
    stored = {row.period: row.figures for row in session.scalars(select(TrendFigures).where(
        TrendFigures.scheme == scheme, TrendFigures.calendar_version == version,
        TrendFigures.period.in_([_period(y, m) for y, m in periods]))) if row.figures.get("definitions") == DEFINITIONS} \
        if today is not None else {}
    months, fill = [], []
    for y, m in periods:
        key = _period(y, m)
        if (y, m) == (year, month):
            t = this_month
        elif key in stored:
            t = stored[key]
        else:
            t = statistics(session, calendar, *month_bounds(y, m), "department")["total"]["figures"]
        figures = {name: t[name] for name in TREND_FIGURES}
        if today is not None and key not in stored and month_bounds(y, m)[1] < today:
            fill.append({"period": key, "scheme": scheme, "calendar_version": version,
                         "figures": {**figures, "definitions": DEFINITIONS}})
        months.append({"label": f"{m} 月", **figures})
    return months, fill


def finished_months(session: Session, calendar: WorkCalendar, today: date, scheme: str = "default") -> list[dict[str, Any]]:
    """The trend's finished months before ``today``'s month (the six a report of this month shows)
    that are not stored yet with this calendar and these definitions, computed: for ``remember_trend``."""
    months, fill = _trend(session, calendar, today.year, today.month, {name: None for name in TREND_FIGURES},
                          today, scheme)
    return fill


def remember_finished_months(db: Database, calendar_of, at: datetime, scheme: str = "default") -> int:
    """Compute and store the finished months of the trend (the timer process's nightly job, so
    that the first 月度通报 of a month does not compute six months of histories). Returns how many
    months were stored."""
    with db.reader() as session:
        fill = finished_months(session, calendar_of(session), china_date(at), scheme)
    return remember_trend(db, {"trend_fill": fill}, at)


def remember_trend(db: Database, report: dict[str, Any], at: datetime) -> int:
    """Store the finished months a report computed (``report["trend_fill"]``) in a short
    transaction of its own, after the report was read; another request that stored them first
    wins (the figures are the same). Returns how many were stored."""
    fill = report.get("trend_fill") or []
    if not fill:
        return 0
    try:
        with db.transaction() as session:
            known = {(p, v) for p, v, figures in session.execute(
                select(TrendFigures.period, TrendFigures.calendar_version, TrendFigures.figures)
                .where(TrendFigures.scheme == fill[0]["scheme"], TrendFigures.period.in_([f["period"] for f in fill])))
                if figures.get("definitions") == DEFINITIONS}
            stored = 0
            for f in fill:
                if (f["period"], f["calendar_version"]) in known:
                    continue
                # computed with another calendar or other definitions: replaced
                session.execute(delete(TrendFigures).where(TrendFigures.period == f["period"],
                                                           TrendFigures.scheme == f["scheme"]))
                session.add(TrendFigures(**f, computed_at=at))
                stored += 1
        return stored
    except IntegrityError:  # stored meanwhile by another request
        return 0


def _red_open_now(session: Session, high: datetime) -> list[tuple[str, str]]:
    """The cases open and carded red now (received before ``high``): number and item."""
    return [tuple(r) for r in session.execute(select(Case.number, Item.name).join(Item, Case.item_id == Item.id).where(
        Case.state == CaseState.RUNNING, Case.card == "red", Case.started_at < high).order_by(Case.number))]


def _red_open_at(session: Session, high: datetime) -> list[tuple[str, str]]:
    """The cases that were open and carded red at the instant ``high`` (a month's end), as their
    histories say: the last entry before it left the case running with a red card. A card is never
    taken back, so only cases red now can have been red then; one concluded, ended or carded red
    after ``high`` is counted as it stood then, so a past month's report does not change."""
    last = (select(HistoryEntry.case_id, func.max(HistoryEntry.seq).label("seq"))
            .join(Case, Case.id == HistoryEntry.case_id)
            .where(Case.card == "red", Case.started_at < high, HistoryEntry.at < high)
            .group_by(HistoryEntry.case_id).subquery())
    card = HistoryEntry.observed[("case", "card")].as_string()
    rows = session.execute(select(Case.number, Item.name, HistoryEntry.case_state, card)
                           .join(last, last.c.case_id == Case.id)
                           .join(HistoryEntry, (HistoryEntry.case_id == last.c.case_id) & (HistoryEntry.seq == last.c.seq))
                           .join(Item, Case.item_id == Item.id).order_by(Case.number))
    return [(number, item) for number, item, state, red in rows if state == CaseState.RUNNING and red == "red"]


def monthly_report(session: Session, calendar: WorkCalendar, year: int, month: int, *,
                   trend: bool = True, today: date | None = None, scheme: str = "default") -> dict[str, Any]:
    """The report of a month. With ``today`` (the China date on the injected clock), the trend's
    finished months come from ``trend_figures`` and those not stored yet are returned in
    ``trend_fill`` for ``remember_trend``; without it every month is computed."""
    start, end = month_bounds(year, month)
    stats = statistics(session, calendar, start, end, "department")
    scores = assess(session, calendar, start, end, scheme=scheme, stats=stats)
    figures = {row["key"]: row["figures"] for row in stats["rows"]}
    low, high = day_range(start, end)
    late = sorted(stats["cases"]["total"]["overdue"])
    current = today is not None and end >= today  # the month is not over: the cards as they are today
    red_open = _red_open_now(session, high) if current else _red_open_at(session, high)
    red_label = (f"截至今日（{today:%Y-%m-%d}）仍亮红牌的在办件" if current
                 else f"月末（{end:%Y-%m-%d}）仍亮红牌的在办件")
    found = [{"id": f.id, "kind": FindingKind.label_of(f.kind), "state": FindingState.label_of(f.state),
              "case": f.case.number, "department": f.department.name, "summary": f.summary}
             for f in session.scalars(select(Finding).where(Finding.detected_at >= low, Finding.detected_at < high)
                                      .order_by(Finding.id))]
    warned = [{"id": w.id, "target": WarningTarget.label_of(w.target), "department": w.department.name,
               "person": w.user.display_name if w.user else "", "reason": w.reason,
               "at": w.created_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d")}
              for w in session.scalars(select(EfficiencyWarning).where(
                  EfficiencyWarning.state == WarningState.ISSUED, EfficiencyWarning.created_at >= low,
                  EfficiencyWarning.created_at < high).order_by(EfficiencyWarning.id))]
    months, fill = _trend(session, calendar, year, month, stats["total"]["figures"], today, scheme) \
        if trend else ([], [])
    units = [{**u, "figures": figures.get(u["key"], {})} for u in scores["units"]]
    return {"year": year, "month": month, "title": f"{year} 年 {month} 月", "start": start, "end": end,
            "scheme": scores["scheme"], "units": units, "total": stats["total"]["figures"], "late": late,
            "red_open": red_open, "red_label": red_label, "findings": found, "warnings": warned, "trend": months, "trend_fill": fill}


class Percent(float):
    """A rate in a report row: a number in Excel (shown 0.0 %), ``12.5%`` in the CSV."""


class Days(float):
    """An average of working days in a report row: a number in Excel (shown 0.0), ``2.5`` in the CSV."""


def _pct(value) -> Percent | str:
    return "" if value is None else Percent(value)


def _csv_value(value: Any) -> Any:
    if isinstance(value, Percent):
        return f"{value * 100:.1f}%"
    if isinstance(value, Days):
        return f"{value:.1f}"
    return value


def report_sections(report: dict[str, Any]) -> list[tuple[str, list[list[Any]]]]:
    """The report as rows, in sections: each a sheet of the Excel file, and the CSV's parts one
    after another with a blank row between them. One source, so that both hold the same rows."""
    units: list[list[Any]] = [[f"月度通报 {report['title']}", report["scheme"]], [],
                              ["排名", "单位", "考核得分", "收件", "办结", "不予受理", "按时办结率", "现场办结率",
                               "平均用时（工作日）", "超期", "扣分加分明细"]]
    for u in report["units"]:
        f = u["figures"]
        units.append([u["rank"] if u["rank"] is not None else "—", u["department"],
                      u["score"] if u["score"] is not None else "本期无办件，不参与排名", u["received"], u["concluded"], f.get("not_accepted", 0),
                      _pct(f.get("on_time_rate")), _pct(f.get("on_spot_rate")),
                      "" if f.get("avg_used") is None else Days(f["avg_used"]), f.get("overdue", 0),
                      "；".join(f"{line['label']} {line['points']:+g}（{line['detail']}）"
                               + (f"：{'、'.join(line['events'])}" if line.get("events") else "") for line in u["lines"])])
    late: list[list[Any]] = [[f"超期办结的办件（{len(report['late'])} 件）"], ["办件编号"],
                             *([number] for number in report["late"]), *([["无"]] if not report["late"] else []),
                             [], [f"{report['red_label']}（{len(report['red_open'])} 件）"], ["办件编号", "事项"],
                             *([number, item] for number, item in report["red_open"]),
                             *([["无"]] if not report["red_open"] else [])]
    findings: list[list[Any]] = [["监察事项", "类别", "状态", "办件", "单位", "说明"]]
    findings += [[f["id"], f["kind"], f["state"], f["case"], f["department"], f["summary"]] for f in report["findings"]]
    findings += [["无"]] if not report["findings"] else []
    warnings: list[list[Any]] = [["效能告诫", "对象", "单位", "人员", "日期", "理由"]]
    warnings += [[x["id"], x["target"], x["department"], x["person"], x["at"], x["reason"]] for x in report["warnings"]]
    warnings += [["无"]] if not report["warnings"] else []
    return [("单位排名", units), ("超期与红牌", late), ("监察事项", findings), ("效能告诫", warnings)]


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV (UTF-8 with BOM, so that Excel opens it in Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    for n, (_name, rows) in enumerate(report_sections(report)):
        if n:
            w.writerow([])
        w.writerows([_csv_value(v) for v in row] for row in rows)
    return out.getvalue()


#: the widest an Excel column is made, in characters (a long breakdown wraps instead)
MAX_COLUMN_WIDTH = 60


def _width(value: Any) -> int:
    """Display width: a Chinese character takes two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value))


def report_xlsx(report: dict[str, Any]) -> bytes:
    """The report as an Excel workbook: one sheet per section, headings in bold, columns as wide
    as their content (up to ``MAX_COLUMN_WIDTH``), the heading row kept in view when scrolling."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name, rows in report_sections(report):
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([float(v) if isinstance(v, (Percent, Days)) else v for v in row])
            for c, v in enumerate(row, start=1):  # numbers stay numbers, shown as the page shows them
                if isinstance(v, (Percent, Days)):
                    sheet.cell(row=sheet.max_row, column=c).number_format = "0.0%" if isinstance(v, Percent) else "0.0"
        heading = 3 if name == "单位排名" else 1  # the ranking starts with the title and a blank row
        for cell in sheet[heading]:
            cell.font = bold
        if name == "超期与红牌":  # two tables, each with a title and a heading row
            for r, row in enumerate(rows, start=1):
                if row and str(row[0]).startswith(("办件编号", "超期办结", "月末", "截至今日")):
                    for cell in sheet[r]:
                        cell.font = bold
        if name == "单位排名":
            sheet["A1"].font = Font(bold=True, size=14)
        sheet.freeze_panes = sheet.cell(row=heading + 1, column=1)
        widths: dict[int, int] = {}
        for r, row in enumerate(rows, start=1):
            if r == 1 and name == "单位排名":
                continue  # the title may run across columns
            for c, value in enumerate(row, start=1):
                widths[c] = max(widths.get(c, 0), _width(_csv_value(value)))
        for c, width in widths.items():
            letter = sheet.cell(row=1, column=c).column_letter
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), MAX_COLUMN_WIDTH)
            if width > MAX_COLUMN_WIDTH:
                for cell in sheet[letter]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.properties.title = f"月度通报 {report['title']}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
