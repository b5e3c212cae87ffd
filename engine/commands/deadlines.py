"""Commands the timer sweep and the calendar run: fire a deadline, record that firing it
failed, recompute deadlines."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select

from ..errors import BadInput, NotFound, Skipped
from engine.store.models import Case, Deadline
from engine.authorization import SYSTEM
from engine.timelimits import firing, recompute
from .base import Applied, Command, CommandContext, OpenCase


class DeadlineCommand(Command):
    """A command on one armed deadline, named by its row id (the sweep) or by case number and
    key (a history: ids differ between databases, so that is how it is recorded). The timer's own:
    a deadline already fired or a case busy meanwhile is routine, not a 流程错误, so its refusals
    are not recorded."""

    records_refusals = False
    deadline: int | None
    case: str | None
    key: str | None
    #: SKIP LOCKED: a case another sweeper holds is skipped, not waited for
    skip_locked: ClassVar[bool] = False

    def load(self, ctx: CommandContext) -> OpenCase:
        if self.deadline is not None:  # found in the same statement as the lock
            case_id = (Deadline.id, self.deadline)
        elif self.case and self.key:
            case_id = (Case.number, self.case)
        else:
            raise BadInput(f"{type(self).__name__} 需要 deadline，或 case 与 key")
        return ctx.engine.open_case(ctx, ctx.lock_case(case_id, skip_locked=type(self).skip_locked,
                                                       missing=f"期限 {self.deadline or self.key} 不存在"))

    def armed(self, ctx: CommandContext, case: OpenCase) -> Deadline:
        """The deadline as of this transaction, under the case lock; ``Skipped`` unless armed."""
        deadline = self._row(ctx, case)
        if deadline is None:
            raise NotFound(f"期限 {self.key} 不存在")
        if deadline.state != "armed":
            raise Skipped(f"期限 {deadline.key} 已是 {deadline.state} 状态")
        return deadline

    def _row(self, ctx: CommandContext, case: OpenCase) -> Deadline | None:
        """The deadline row, read after the case is locked (``load`` reads no deadline row, and each
        command has its own session, so whatever the session holds was read under the lock)."""
        # an armed (or paused, fired) deadline is among the case's live deadlines, which the
        # command's timekeeper reads once under the lock anyway: no statement of its own
        live = case.timekeeper.live_deadline(self.deadline, self.key)
        if live is not None:
            return live
        if self.deadline is not None:
            deadline = ctx.session.get(Deadline, self.deadline)
            return deadline if deadline is not None and deadline.case_id == case.row.id else None
        return ctx.session.scalar(select(Deadline).where(Deadline.case_id == case.row.id, Deadline.key == self.key))

    def recorded_inputs(self, case: OpenCase) -> dict:
        """By case number and key: row ids differ between databases."""
        inputs = super().recorded_inputs(case)
        inputs.pop("deadline", None)
        inputs["case"] = case.row.number
        if not self.key:
            deadline = self._row(case.ctx, case)
            inputs["key"] = deadline.key if deadline is not None else None
        return inputs


@dataclass(frozen=True)
class FireDeadline(DeadlineCommand):
    """Fire one due deadline: a warning, a card, an escalation, a deemed decision, the end
    of a suspended period or a BPMN timer.

    The case is locked with SKIP LOCKED and the deadline re-read under that lock, so with
    several sweepers each deadline fires exactly once: the others get ``Skipped`` and change
    nothing.
    """

    type = "fire_deadline"
    label = "时限触发"
    policy = SYSTEM
    skip_locked = True
    deadline: int | None = None
    case: str | None = None
    key: str | None = None

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        deadline = self.armed(ctx, case)
        if deadline.due_at > ctx.at:
            raise Skipped(f"期限 {deadline.key} 尚未到期（{deadline.due_at.isoformat()}）")
        record = firing.fire(case.timekeeper, deadline)
        return Applied(record, record)


@dataclass(frozen=True)
class RecordDeadlineFailure(DeadlineCommand):
    """Firing a deadline failed (its transaction rolled back): count the attempt in the case's
    history, retry after 1, 2, 4 … minutes, and after ``MAX_ATTEMPTS`` mark it failed and tell
    the administrators. Recorded like any other command, so a replay reproduces it."""

    type = "record_deadline_failure"
    label = "时限触发失败"
    policy = SYSTEM
    deadline: int | None = None
    case: str | None = None
    key: str | None = None
    error: str = ""

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        record = firing.record_failure(case.timekeeper, self.armed(ctx, case), self.error)
        return Applied(record, record)


@dataclass(frozen=True)
class RecomputeDeadlines(Command):
    """Move a case's deadlines to where the newly imported calendar puts them. The history
    entry lists every deadline that moved, from and to, and those no longer provisional;
    when nothing changed, nothing is recorded (``Skipped``)."""

    type = "recompute_deadlines"
    label = "按新日历重算期限"
    policy = SYSTEM
    #: a suspended case's paused deadlines follow a new calendar too (engine/operations.py)
    on_hold = True
    case: str
    #: the schedule whose import caused this, kept in the history so that a replay can
    #: apply it at the same point: {"year", "days_off": [[date, name]…], "makeup_days": […]}
    schedule: dict | None = None

    def load(self, ctx: CommandContext) -> OpenCase:
        return ctx.engine.open_case(ctx, ctx.case_by_number(self.case))

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        moved, confirmed = recompute.recompute_all(case.timekeeper)
        if not moved and not confirmed:
            raise Skipped(f"办件 {case.row.number} 的期限没有变化")
        return Applied(moved, {"moved": [m.to_dict() for m in moved], "confirmed": confirmed})
