"""After a calendar change: every pending deadline of the case where the calendar now says."""
from __future__ import annotations

from engine.timelimits import clocks, timers
from engine.timelimits.case_time import CaseTime, Moved


def recompute_all(t: CaseTime) -> tuple[list[Moved], list[str]]:
    """Returns the moved deadlines and the keys of those no longer provisional."""
    moved, confirmed = [], []
    for clock in t.clocks():
        before = {d.key: d.provisional for d in t.deadlines(clock)}
        moved.extend(timers.recompute(t, clock) if clock.kind == "timer" else clocks.recompute(t, clock))
        confirmed.extend(d.key for d in t.deadlines(clock) if before.get(d.key) and not d.provisional)
    return moved, confirmed
