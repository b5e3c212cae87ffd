"""The engine: the one entry point through which every state change of a case runs."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .actors import Actor
from . import operations
from .audit import seal
from .clock import Clock, SystemClock, aware
from .commands.base import Command
from .unit_of_work import CommandContext, OpenCase
from engine.store.db import Database
from engine.runtime.definitions import DefinitionCache, ProcessDefinition
from .errors import BadInput, Conflict, NotAllowed, TimeOrderError
from engine.runtime.expressions import evaluation_budget, make_script_engine
from engine.store.models import AdministrationAct, Case, CommandRefusal, HistoryEntry, ProcessVersion, SupervisionAct
from engine.runtime.projection import observed_state, snapshot, stored_observed
from engine.runtime.spiff import StateCodec, command_scope
from engine.timelimits import inbox
from engine.timelimits.workdays import WorkCalendar, calendar_version


log = logging.getLogger(__name__)
_INSERT_HISTORY = insert(HistoryEntry.__table__)

#: what a history entry stores (its id is the database's)
HISTORY_COLUMNS = ("case_id", "seq", "command", "actor", "at", "inputs", "payload", "ready_tasks", "case_state",
                   "observed", "hash")


class Engine:
    """Runs commands: one transaction each, in time order per case, recorded in the history.

    ``execute`` opens the transaction, lets the command load (and lock) its case,
    refuses a time earlier than the case's last event, runs the command inside a
    scope that fixes SpiffWorkflow's time and ids, saves the workflow state,
    projects the ready tasks, appends the history entry and commits. A concurrent
    change to the same case makes the later command fail with ``Conflict``.
    """

    def __init__(self, db: Database, clock: Clock | None = None, *, definitions: DefinitionCache | None = None):
        self.db = db
        self.clock = clock or SystemClock()
        self.definitions = definitions or DefinitionCache()
        self.codec = StateCodec()
        self.script_engine = make_script_engine()
        self._calendar: tuple[int, WorkCalendar] | None = None
        #: the history entry the last command on a case wrote (values as stored), for replay
        self.last_entry: dict[str, Any] | None = None

    def now(self) -> datetime:
        return self.clock.now()

    def calendar(self, session: Session, version: int | None = None) -> WorkCalendar:
        """The working-day calendar, reloaded when an administrator has changed it. ``version``:
        the calendar's version when the caller has read it already (a command reads it with the
        case it locks)."""
        if version is None:
            version = calendar_version(session)
        cached = self._calendar
        if cached is None or cached[0] != version:
            cached = self._calendar = (version, WorkCalendar.load(session))
        return cached[1]

    def definition(self, session: Session, version: ProcessVersion) -> ProcessDefinition:
        def load():
            xml = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))
            return xml.encode("utf-8"), version.filename

        return self.definitions.get(version.content_hash, load)

    def open_case(self, ctx: CommandContext, row: Case) -> OpenCase:
        return OpenCase(ctx, row, self.definition(ctx.session, row.process_version))

    def execute(self, command: Command, actor: Actor, at: datetime | None = None) -> Any:
        at = aware(at) if at is not None else self.clock.now()
        self.last_entry = None
        command.check_inputs()
        loaded: dict[str, int] = {}  # the case's id once loaded, for the record of a refusal
        try:
            with self.db.transaction() as session:
                return self._run(session, command, actor, at, loaded)
        except (Conflict, NotAllowed) as exc:
            # refused by the command or its policy (not a concurrent update, translated below):
            # recorded for 流程错误 after the refused transaction rolled back, never inside it
            if command.records_refusals:
                self._record_refusal(command, actor, at, exc, loaded.get("case_id"))
            raise
        except StaleDataError:
            raise Conflict("办件已被他人同时更新，本次操作未生效，请刷新后重试") from None
        except OperationalError as exc:
            if "locked" in str(exc).lower() or "deadlock" in str(exc).lower():
                raise Conflict("办件正被他人更新，本次操作未生效，请稍后重试") from None
            raise
        except (DataError, IntegrityError):
            # A safety net: input checks should have refused this before the database did. Logged
            # (it is a missing check), answered as bad input, and nothing was written.
            log.exception("the database refused %s: a missing input check", command.type)
            raise BadInput("输入的数据无法保存（超出长度或取值范围，或与已有数据冲突），本次操作未生效；"
                           "请检查后重试") from None

    def _record_refusal(self, command: Command, actor: Actor, at: datetime, exc: Conflict | NotAllowed,
                        case_id: int | None) -> None:
        """Append the refusal to ``command_refusals`` in a short transaction of its own. It must
        not hide the refusal itself: a failure to write it is logged and the refusal raised as is."""
        message = exc.message[:CommandRefusal.MAX_MESSAGE]
        try:
            with self.db.transaction() as session:
                session.add(CommandRefusal(case_id=case_id, command=command.type[:64], actor=actor.name[:128],
                                           at=at, code=exc.code, message=message))
        except Exception:  # noqa: BLE001 - the refusal is what the caller must see
            log.exception("could not record the refusal of %s", command.type)

    def _run(self, session: Session, command: Command, actor: Actor, at: datetime,
             loaded: dict[str, int] | None = None) -> Any:
        ctx = CommandContext(self, session, actor, at)
        case = command.load(ctx)
        if case is None:  # a command on no case (supervision, administration): recorded apart
            return self._run_apart(session, ctx, command)
        row = case.row
        if loaded is not None and row.last_seq:  # not a case this command creates: it rolls back with it
            loaded["case_id"] = row.id
        if row.last_seq and at < row.last_event_at:
            raise TimeOrderError(f"时间 {at.isoformat()} 早于办件 {row.number} 的最后一次操作"
                                 f"（{row.last_event_at.astimezone(at.tzinfo).isoformat()}），不能倒退")
        grant = type(command).policy.authorize(session, actor, command.subject(case))
        ctx.on_behalf_of = grant.on_behalf_of
        operations.check(row, type(command))  # suspended (挂起), terminated or voided: engine/operations.py
        inputs = command.recorded_inputs(case)  # before apply: what was asked, not what came of it
        seq = row.last_seq + 1
        with command_scope(at, row.key, seq, calendar=lambda: self.calendar(session, ctx.calendar_version)), \
                evaluation_budget():
            applied = command.apply(ctx, case)
            case.project()
        ready = case.ready_rows()
        inbox.refresh_tasks(case.timekeeper, ready)
        if case.workflow_changed:
            row.workflow_state = self.codec.dump(case.workflow)
        result = dict(applied.result)
        if case.skipped:  # steps nobody could handle, passed by their settings
            result["skipped"] = case.skipped
        if ctx.on_behalf_of is not None:  # AB岗: done by the backup for an away colleague
            result["on_behalf_of"] = ctx.on_behalf_of
        timekeeper = case.timekeeper
        observed = observed_state(row, timekeeper.all_deadlines())
        # kept as what changed since the entry before (the pending deadlines the command found)
        entry = HistoryEntry(case_id=row.id, seq=seq, command=command.type, actor=actor.name, at=at,
                             inputs=inputs, payload=result, ready_tasks=snapshot(ready), case_state=row.state,
                             observed=stored_observed(observed, timekeeper.pending_before if seq > 1 else None))
        stored = seal(session, entry, row)  # its hash, chained from the case's head; the case's new head
        row.last_seq, row.last_event_at = seq, at
        session.flush()
        case.timekeeper.write_new_deadlines()
        # The entry is append-only and nothing reads it back in this transaction: one Core INSERT
        # after the flush (which wrote the case row it refers to), not an object in the unit of work.
        session.execute(_INSERT_HISTORY, {**{name: getattr(entry, name) for name in HISTORY_COLUMNS}, "case_id": row.id})
        # what was just written, as the database hands it back: a replay compares it with the
        # recorded entry without reading the row back
        # (``observed`` in the full form, which replay compares)
        self.last_entry = {"seq": seq, "command": command.type, "case_state": row.state, **stored,
                           "observed": observed}
        return applied.value

    def _run_apart(self, session: Session, ctx: CommandContext, command: Command) -> Any:
        """A command that concerns no single case (detecting findings, 效能告诫): the policy is
        checked against what the command names, and the act is recorded in its ledger:
        ``supervision_acts`` or ``administration_acts`` (``Command.ledger``)."""
        grant = type(command).policy.authorize(session, ctx.actor, command.apart_subject(ctx))
        ctx.on_behalf_of = grant.on_behalf_of
        inputs = command.recorded_inputs(None)
        applied = command.apply(ctx, None)
        record = AdministrationAct if command.ledger == "administration" else SupervisionAct
        session.add(record(command=command.type, actor=ctx.actor.name, at=ctx.at, inputs=inputs,
                                   payload=dict(applied.result)))
        session.flush()
        return applied.value
