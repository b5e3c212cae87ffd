"""The sweep: read the due deadlines from their index and fire each through ``FireDeadline``.

Each deadline fires in its own transaction, so one that fails never blocks the
others. The failure itself goes through the command path too (``RecordDeadlineFailure``,
in the case's history, so a replay reproduces it): the deadline is retried with
exponential backoff (its ``due_at`` moves forward) and, after ``MAX_ATTEMPTS``, marked
failed and reported to the administrators.
Several sweepers may run at once: ``FireDeadline`` locks the case with SKIP LOCKED
and re-reads the deadline under the lock, so each deadline fires exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine.actors import Actor
from engine.commands import FireDeadline, RecordDeadlineFailure
from engine.errors import ApprovalError, Conflict, Skipped
from engine.executor import Engine
from engine.store.enums import DeadlineState
from engine.store.models import Case, Deadline
from engine.timelimits.firing import MAX_ATTEMPTS, backoff

log = logging.getLogger("approvals.timers")

__all__ = ["MAX_ATTEMPTS", "SweepReport", "backoff", "due_ids", "sweep"]

BATCH = 500
SWEEPER = Actor.system("timer")


@dataclass
class SweepReport:
    at: datetime
    fired: int = 0
    skipped: int = 0
    failed: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(), "fired": self.fired, "skipped": self.skipped, "failed": self.failed}


def due_ids(engine: Engine, now: datetime, limit: int = BATCH) -> list[int]:
    """Only due rows, straight from ``ix_deadlines_due``."""
    with engine.db.reader() as session:
        return list(session.scalars(select(Deadline.id).where(Deadline.state == DeadlineState.ARMED, Deadline.due_at <= now)
                                    .order_by(Deadline.due_at, Deadline.id).limit(limit)))


def sweep(engine: Engine, now: datetime | None = None, *, limit: int | None = None) -> SweepReport:
    """Fire everything due at ``now`` (default: the engine's clock, read per command)."""
    explicit = now is not None
    report = SweepReport(now if explicit else engine.now())
    seen: set[int] = set()
    while limit is None or len(seen) < limit:
        batch = [i for i in due_ids(engine, report.at) if i not in seen]
        if not batch:
            break
        for deadline_id in batch[: (limit - len(seen)) if limit is not None else None]:
            seen.add(deadline_id)
            _fire_one(engine, deadline_id, report, report.at if explicit else None)
    if report.fired or report.failed:
        log.info("sweep at %s: %d fired, %d skipped, %d failed", report.at.isoformat(), report.fired,
                 report.skipped, len(report.failed))
    return report


def _fire_one(engine: Engine, deadline_id: int, report: SweepReport, at: datetime | None) -> None:
    try:
        engine.execute(FireDeadline(deadline=deadline_id), SWEEPER, at=at)
        report.fired += 1
    except (Skipped, Conflict):
        report.skipped += 1
    except Exception as exc:  # a failing timer is recorded and retried; it never stops the sweep
        message = exc.message if isinstance(exc, ApprovalError) else f"{type(exc).__name__}: {exc}"
        log.warning("deadline %s failed: %s", deadline_id, message, exc_info=not isinstance(exc, ApprovalError))
        report.failed.append({"deadline": deadline_id, "error": message})
        _record_failure(engine, deadline_id, message, at)


def _record_failure(engine: Engine, deadline_id: int, message: str, at: datetime | None) -> None:
    try:
        engine.execute(RecordDeadlineFailure(deadline=deadline_id, error=message), SWEEPER, at=at)
    except (Skipped, Conflict):
        pass  # fired, cancelled or being changed meanwhile: nothing to count
    except Exception:  # the case cannot even record it (e.g. its definition no longer loads)
        log.exception("deadline %s: the failure could not be recorded in the case history", deadline_id)
        _postpone_outside_history(engine, deadline_id, at or engine.now())


def _postpone_outside_history(engine: Engine, deadline_id: int, now: datetime) -> None:
    """Last resort, outside the command path: only push the deadline back, so that a case whose
    history cannot be written is not retried in a tight loop. Nothing else changes."""
    with engine.db.transaction() as session:
        deadline = session.get(Deadline, deadline_id)
        if deadline is None:
            return
        session.scalar(select(Case.id).where(Case.id == deadline.case_id).with_for_update(of=Case))
        session.refresh(deadline)
        if deadline.state == "armed":
            deadline.due_at = now + backoff(deadline.attempts + 1)
