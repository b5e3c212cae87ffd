"""The one-time notice of missing materials (一次性告知) and the arrival of the supplement."""
from __future__ import annotations

from typing import Any

from engine.timelimits import clocks, notices, planning
from engine.timelimits.case_time import CaseTime


def request_supplement(t: CaseTime, materials: list[str], note: str) -> dict[str, Any]:
    clock = next(iter(t.clocks("acceptance")), None)
    if clock is not None:
        clocks.stop(t, clock)
    t.row.acceptance = "supplement"
    notices.notice(t, "supplement", notices.supplement_text(materials, note), {"materials": materials})
    return {"materials": materials, "note": note, "in_time": clock is None or clock.outcome == "on_time"}


def receive_supplement(t: CaseTime) -> dict[str, Any]:
    t.row.acceptance = None
    clock = planning.start_acceptance(t, detail={"after_supplement": True})
    return {"acceptance_due": t.limit_due(clock).isoformat()}
