"""The sweep: read the due deadlines from their index and fire each through ``FireDeadline``.

Each deadline fires in its own transaction, so one that fails never blocks the
others: it is retried with exponential backoff (its ``due_at`` moves forward) and,
after ``MAX_ATTEMPTS``, marked failed and reported to the administrators.
Several sweepers may run at once: ``FireDeadline`` locks the case with SKIP LOCKED
and re-reads the deadline under the lock, so each deadline fires exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from engine import alerts
from engine.actors import Actor
from engine.commands import FireDeadline
from engine.errors import ApprovalError, Conflict, Skipped
from engine.executor import Engine
from engine.store.models import Case, Deadline, User, UserRole

log = logging.getLogger("approvals.timers")

MAX_ATTEMPTS = 8
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


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most six hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def due_ids(engine: Engine, now: datetime, limit: int = BATCH) -> list[int]:
    """Only due rows, straight from ``ix_deadlines_due``."""
    with engine.db.reader() as session:
        return list(session.scalars(select(Deadline.id).where(Deadline.state == "armed", Deadline.due_at <= now)
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
        _record_failure(engine, deadline_id, message, at or engine.now())


def _record_failure(engine: Engine, deadline_id: int, message: str, now: datetime) -> None:
    with engine.db.transaction() as session:
        deadline = session.get(Deadline, deadline_id)
        if deadline is None:
            return
        case = session.scalar(select(Case).where(Case.id == deadline.case_id).with_for_update(of=Case))
        session.refresh(deadline)
        if deadline.state != "armed":
            return
        deadline.attempts += 1
        deadline.last_error = message[:2000]
        if deadline.attempts >= MAX_ATTEMPTS:
            deadline.state = "failed"
            admins = list(session.scalars(select(User).join(UserRole).where(UserRole.role == "admin",
                                                                            User.active.is_(True))))
            alerts.send(session, admins, case=case, kind="timer_failed",
                        title=f"【定时失败】{case.number} 期限 {deadline.key} 多次触发失败",
                        body=f"已重试 {deadline.attempts} 次，最后一次错误：{message}", at=now)
        else:
            deadline.due_at = now + backoff(deadline.attempts)
