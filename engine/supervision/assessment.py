"""Assessment scores (绩效考核): every unit's score for a period under the scheme (``scheme.py``,
data in ``schemes/*.yaml``), with the breakdown of every point back to the events behind it.

A unit is a department that owns items. Its score starts at the scheme's ``base``;

- each **indicator** loses ``weight × (target − value) / target`` points when the unit's figure for the
  period (from ``statistics``) is below the centre's target, and nothing when at or above it or when
  the unit concluded nothing (events: the concluded cases that missed it);
- each **deduction** takes ``points`` per event, up to ``cap``: ``overdue`` (cases concluded late in the
  period), ``confirmed_finding`` (findings of the unit confirmed in the period), ``warning`` (效能告诫
  issued to the unit or its staff in the period, including a confirmed one to its head), ``deemed``
  (cases concluded in the period by a deemed acceptance or approval);
- each **bonus** adds ``points`` per event, up to ``cap``: ``on_spot`` (cases concluded on the spot),
  except cases with a confirmed finding (a step done in a minute that the supervisor held to be
  体外循环 earns no 现场办结 bonus).

Units are ranked by score; equal scores share a rank (listed by name)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.enums import FindingState, WarningState
from engine.store.models import Department, EfficiencyWarning, Finding, Item
from engine.timelimits.workdays import WorkCalendar

from .facts import day_range
from .scheme import load_scheme
from .statistics import statistics


def _capped(points: float, count: int, cap: float | None) -> float:
    total = points * count
    return min(total, cap) if cap is not None else total


def assess(session: Session, calendar: WorkCalendar, start: date, end: date, *, scheme: str = "default",
           stats: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scores per unit, best first: ``{"scheme", "units": [{"department", "score", "rank", "lines"}]}``;
    each line is ``{"label", "points", "events": [case numbers or "告诫 N" / "监察事项 N"], "detail"}``."""
    config = load_scheme(scheme)
    stats = stats or statistics(session, calendar, start, end, "department")
    by_unit = {row["key"]: row for row in stats["rows"]}
    low, high = day_range(start, end)
    units = {str(i): name for i, name in session.execute(
        select(Department.id, Department.name).where(Department.id.in_(select(Item.department_id))))}
    confirmed: dict[str, list[str]] = {}
    faulted: set[str] = set()  # cases with a confirmed finding: they earn no bonus
    for f in session.scalars(select(Finding).where(Finding.department_id.in_([int(k) for k in units]))):
        when = next((t["at"] for t in f.trail if t["act"] == "confirmed"), None)
        if f.state == FindingState.CONFIRMED:
            faulted.add(f.case.number)
        if when is not None and low.isoformat() <= when < high.isoformat():
            confirmed.setdefault(str(f.department_id), []).append(f"监察事项 {f.id}（{f.case.number}）")
    warned: dict[str, list[str]] = {}
    for w in session.scalars(select(EfficiencyWarning).where(EfficiencyWarning.state == WarningState.ISSUED)):
        when = w.decided_at or w.created_at
        if low <= when < high:
            warned.setdefault(str(w.department_id), []).append(f"告诫 {w.id}（{w.user.display_name if w.user else w.department.name}）")
    out = []
    for key, name in units.items():
        row = by_unit.get(key)
        cases = stats["cases"].get(key, {})
        figures = row["figures"] if row else {}
        lines = []
        for ind in config["indicators"]:
            figure, target = ind["figure"], config["targets"].get(ind["figure"])
            value = figures.get(figure)
            if value is None or target is None or value >= target:
                continue
            missed = sorted(set(cases.get("concluded", [])) - set(cases.get(figure.removesuffix("_rate"), [])))
            lines.append({"label": ind["label"], "points": -round(ind["weight"] * (target - value) / target, 2),
                          "detail": f"{value * 100:.1f}%，目标 {target * 100:.0f}%，权重 {ind['weight']}",
                          "events": missed})
        events = {"overdue": cases.get("overdue", []), "deemed": cases.get("deemed", []),
                  "confirmed_finding": confirmed.get(key, []), "warning": warned.get(key, []),
                  "on_spot": [n for n in cases.get("on_spot", []) if n not in faulted]}
        for sign, rules in ((-1, config["deductions"]), (1, config["bonuses"])):
            for rule in rules:
                found = events.get(rule["event"], [])
                if not found:
                    continue
                points = _capped(rule["points"], len(found), rule.get("cap"))
                lines.append({"label": rule["label"], "points": round(sign * points, 2), "events": list(found),
                              "detail": f"{len(found)} 件（次）× {rule['points']} 分"
                                        + (f"，上限 {rule['cap']} 分" if rule.get("cap") is not None else "")})
        score = round(config["base"] + sum(line["points"] for line in lines), 2)
        out.append({"key": key, "department": name, "score": score, "lines": lines,
                    "received": figures.get("received", 0), "concluded": figures.get("concluded", 0)})
    # a unit that received and concluded nothing in the period is not ranked: its untouched base
    # score would otherwise rank it above units that did the work
    idle = [u for u in out if not u["received"] and not u["concluded"] and not u["lines"]]
    out = [u for u in out if u not in idle]
    out.sort(key=lambda u: (-u["score"], u["department"]))
    for place, unit in enumerate(out, 1):  # equal scores share a rank (1, 1, 3)
        unit["rank"] = out[place - 2]["rank"] if place > 1 and out[place - 2]["score"] == unit["score"] else place
    for unit in sorted(idle, key=lambda u: u["department"]):
        out.append({**unit, "rank": None, "score": None})
    return {"scheme": config["name"], "base": config["base"], "units": out}
