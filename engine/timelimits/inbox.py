"""The inbox's view of the clocks: on each open task, the day its limit runs out and its
worst alert, so that the inbox can sort and mark 100,000 open cases from one index."""
from __future__ import annotations

from engine.clock import china_date
from engine.store.models import Clock, Task
from engine.timelimits.case_time import CaseTime

#: Case-wide clocks whose limit an open step shows when it has no clock of its own, first found first.
CASE_CLOCKS = ("acceptance", "decision", "issue")


def refresh_tasks(t: CaseTime, tasks: list[Task]) -> None:
    """Put ``due_on`` and ``alert`` on each of the case's open ``tasks``."""
    if not tasks:
        return
    active = t.clocks()
    fired: dict[int, set[str]] = {}
    for clock in t.clocks(states=("running", "paused", "stopped")):
        kinds = {d.kind for d in t.deadlines(clock, states=("fired",))}
        if kinds:
            fired[id(clock)] = kinds

    by_kind: dict[str, Clock] = {}
    for clock in active:
        by_kind.setdefault(clock.kind, clock)
    case_clock = next((by_kind[k] for k in CASE_CLOCKS if k in by_kind), None)
    # 即办件 (a same-day promise): every step is due the day the case came in, whatever the
    # statutory acceptance period allows
    same_day = china_date(t.row.started_at) if t.policy.first_limit == 0 else None
    for task in tasks:
        clock = next((c for c in active if t.is_clock_of(c, task)), None) or case_clock
        task.due_on = t.limit_due(clock) if clock is not None else None
        if same_day is not None and task.kind == "bpmn":
            task.due_on = min(task.due_on, same_day) if task.due_on else same_day
        seen = set(fired.get(id(clock), set())) if clock is not None else set()
        if case_clock is not None:  # the case's own warning concerns whoever holds it now
            seen |= fired.get(id(case_clock), set())
        if t.row.card:
            seen.add(t.row.card)
        task.alert = next((a for a in ("red", "yellow", "warning") if a in seen), None)
