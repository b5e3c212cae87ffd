"""The unit of work of one command: its context (session, actor, time) and the locked case
it changes. ``Engine.execute`` creates both; commands receive them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import outcomes
from engine.actors import Actor
from engine.errors import ApprovalError, BadInput, NotFound, Skipped
from engine.runtime.definitions import ProcessDefinition
from engine.runtime.projection import department_ids, open_tasks, project_tasks
from engine.runtime.spiff import run_engine, submit_task
from engine.store.enums import TaskKind, TaskState
from engine.store.models import Case, Department, Item, Meta, ProcessVersion, Task
from engine.store.plain import Plain, PlainJoin
from engine.timelimits import reactions, timers
from engine.timelimits.case_time import CaseTime
from engine.timelimits.workdays import VERSION_KEY as CALENDAR_VERSION_KEY

if TYPE_CHECKING:
    from engine.executor import Engine


#: ``calendar_version`` as a column of the statement that locks a case
_CALENDAR_VERSION = select(Meta.value).where(Meta.key == CALENDAR_VERSION_KEY).scalar_subquery()
_LOCK_STATEMENTS: dict = {}


def _case_of(column, value):
    """The id of the case (without locking it) that ``lock_case`` looks for."""
    if column is None or column.class_ is Case:
        return select(Case.id).where((Case.id if column is None else column) == value)
    return select(column.class_.case_id).where(column == value)


def _lock_statement(column, skip_locked: bool):
    """The statement that locks a case — found by id (``column`` None) or as the case of the row
    whose ``column`` (``Task.id``, ``Task.spiff_id``, ``Deadline.id``, ``Case.number``) is the
    parameter ``value`` — with its item and process version (every command reads them) and the
    calendar's version (every command that counts working days needs it). Built once per shape:
    building it costs more than running it."""
    key = (None if column is None else (column.class_.__name__, column.key), skip_locked)
    query = _LOCK_STATEMENTS.get(key)
    if query is None:
        value = bindparam("value")
        if column is None:
            case_id = value
        elif column.class_ is Case:
            case_id = select(Case.id).where(column == value).scalar_subquery()
        else:
            case_id = select(column.class_.case_id).where(column == value).scalar_subquery()
        # the four rows as entities of one plain join, their relationships set by ``lock_case``:
        # the ORM prepares a joined eager load's row processing anew on every execution
        query = _LOCK_STATEMENTS[key] = (
            select(*_LOCKED.columns, _CALENDAR_VERSION)
            .select_from(Case).join(Item, Case.item_id == Item.id)
            .join(Department, Item.department_id == Department.id)
            .join(ProcessVersion, Case.process_version_id == ProcessVersion.id)
            .where(Case.id == case_id).with_for_update(of=Case.__table__, skip_locked=skip_locked))
    return query


#: the four rows the lock reads, made into objects from the plain row (``engine.store.plain``):
#: the case with its workflow state (every command but a firing restores the workflow)
_LOCKED = PlainJoin(Plain(Case, undefer=("workflow_state",)), Plain(Item), Plain(Department), Plain(ProcessVersion))


@dataclass
class CommandContext:
    engine: "Engine"
    session: Session
    actor: Actor
    at: datetime
    #: set when the actor acts as the away user's backup (AB岗); recorded in the history
    on_behalf_of: str | None = None
    #: the working-day calendar's version, read in the statement that locks the case (None: not read)
    calendar_version: int | None = None

    def lock_case(self, case_id, *, skip_locked: bool = False, missing: str | None = None) -> Case:
        """Lock the case row for this transaction. With ``skip_locked`` a case another
        transaction holds is not waited for: ``Skipped`` is raised (the timer sweep).
        ``case_id`` is an id, or ``(column, value)``: the case of the task, deadline or number
        whose ``column`` is ``value``, found in the same statement; ``missing`` is the refusal
        when there is no such case."""
        column, value = case_id if isinstance(case_id, tuple) else (None, case_id)
        session = self.session
        found = session.connection().execute(_lock_statement(column, skip_locked), {"value": value}).first()
        if found is None:
            if skip_locked and session.scalar(_case_of(column, value)) is not None:
                raise Skipped("办件正被其他操作锁定")
            raise NotFound(missing or f"办件 {value} 不存在")
        case, item, department, version = _LOCKED.load(session, found)
        calendar = found[len(_LOCKED.columns)]
        set_committed_value(item, "department", department)
        set_committed_value(case, "item", item)
        set_committed_value(case, "process_version", version)
        self.calendar_version = int(calendar) if calendar else 0
        return case

    def case_by_number(self, number: str) -> Case:
        return self.lock_case((Case.number, number), missing=f"办件 {number} 不存在")

    def new_key(self) -> str:
        """A fresh random case key; recorded in the history so replay reuses it."""
        return str(uuid.uuid4())


#: how many steps in a row one command may pass because nobody may handle them
MAX_SKIPPED = 50


class OpenCase:
    """A locked case with its definition; the workflow is restored on first use.

    ``opened`` and ``closed`` collect the task rows the command opened and closed
    since the last ``project()``; ``engine.timelimits.reactions`` follows them there.
    """

    def __init__(self, ctx: CommandContext, row: Case, definition: ProcessDefinition, workflow=None):
        self.ctx, self.row, self.definition = ctx, row, definition
        self._workflow = workflow
        self.workflow_changed = workflow is not None
        self._unprojected = workflow is not None
        self.opened: list[Task] = []
        self.closed: list[Task] = []
        #: steps passed because nobody may handle them (``nobody=skip``): recorded in the history
        self.skipped: list[dict[str, str]] = []
        self._timekeeper = None
        self._open: list[Task] | None = None  # the case's open tasks as read at the first need
        self._rows: dict[int | str, Task] = {}  # other task rows looked up by id in this command
        # Every task row the command loads or adds, held here: the session keeps only weak
        # references to unchanged rows, and ``ready_rows`` must see each of them.
        self._touched: list[Task] = []
        event.listen(ctx.session, "loaded_as_persistent", self._track)
        event.listen(ctx.session, "transient_to_pending", self._track)

    def _track(self, _session, obj) -> None:
        if isinstance(obj, Task):
            self._touched.append(obj)

    @property
    def timekeeper(self) -> CaseTime:
        """The case's time state (policy, calendar, clocks); the modules of
        ``engine.timelimits`` act on it."""
        if self._timekeeper is None:
            self._timekeeper = CaseTime(self.ctx, self)
        return self._timekeeper

    @property
    def workflow(self):
        if self._workflow is None:
            engine = self.ctx.engine
            self._workflow = engine.codec.load(self.row.workflow_state, self.definition.spec,
                                               self.definition.subprocess_specs)
            self._workflow.script_engine = engine.script_engine
        return self._workflow

    def attach(self, workflow) -> None:
        """Use a freshly created workflow (a new case)."""
        self._workflow = workflow
        self.workflow_changed = self._unprojected = True

    def advance(self, step=None) -> None:
        """Run ``step`` (if any) and then the engine until it waits for people or time."""
        try:
            if step is not None:
                step()
            run_engine(self.workflow)
        except ApprovalError:
            raise
        except WorkflowTaskException as exc:
            cause = next((c for c in (exc.__cause__, exc.__context__) if isinstance(c, ApprovalError)), None)
            raise BadInput(f"流程在“{exc.task_spec.bpmn_name or exc.task_spec.name}”处无法继续："
                           f"{cause.message if cause else exc}") from None
        except SpiffWorkflowException as exc:
            raise BadInput(f"流程无法继续：{exc}") from None
        self.workflow_changed = self._unprojected = True

    def project(self) -> None:
        """Bring the task table and the clocks in line with what happened so far."""
        if self._unprojected:
            self._unprojected = False
            workflow, row = self.workflow, self.row
            if workflow.completed and row.state == "running":
                row.state, row.concluded_at = "concluded", self.ctx.at
            codes = department_ids(self.ctx.session, {t.department for t in self.definition.user_tasks.values()})
            for _ in range(MAX_SKIPPED):
                opened, cancelled, skipped = project_tasks(self.ctx.session, row, self.definition, self.workflow,
                                                           self.ctx.at, codes, self.ready_rows())
                self.opened.extend(opened)
                self.closed.extend(cancelled)
                if not skipped:
                    break
                for task in skipped:  # nobody may handle it and its settings say to pass it
                    self.skipped.append({"element": task.element_id, "name": task.name})
                    self.advance(lambda task=task: submit_task(self.workflow, task.spiff_id, {}))
                self._unprojected = False
            else:
                raise BadInput(f"连续跳过的环节超过 {MAX_SKIPPED} 个：请检查流程的环节设置（无人可办时跳过）")
            if self.workflow.completed and row.state == "running":
                row.state, row.concluded_at = "concluded", self.ctx.at
            timers.sync_timers(self.timekeeper, self.workflow)
        while self.opened or self.closed:
            opened, closed = self.opened, self.closed
            self.opened, self.closed = [], []
            for task in closed:
                if task.kind == "bpmn" and task.state == "completed":
                    outcomes.completed(self, task)
                elif task.kind == "bpmn":  # withdrawn, returned, taken back: its co-signers are not needed
                    for cosign in self.ctx.session.scalars(select(Task).where(
                            Task.case_id == task.case_id, Task.followup_of_id == task.id, Task.kind == TaskKind.COSIGN,
                            Task.state == TaskState.READY)):
                        cosign.state = "cancelled"
            reactions.sync(self.timekeeper, opened, closed)

    def ready_rows(self) -> list[Task]:
        """The case's open (ready) tasks as they stand in this command: read from the database
        once (with their departments and holders, for the history), then followed in the session,
        where every task the command creates or changes is (``Session.new`` and the identity map)."""
        session = self.ctx.session
        if self._open is None:
            with session.no_autoflush:  # rows the command changed are followed in memory, below
                self._open = open_tasks(session, self.row.id)
        found = {id(t): t for t in (*self._open, *self._touched) if t.case_id == self.row.id}
        rows = [t for t in found.values() if t.state == TaskState.READY]
        rows.sort(key=lambda t: (t.created_at, t.id is None, t.id or 0))
        return rows

    def task_row(self, task_id: int | str) -> Task:
        """The case's task by database id or SpiffWorkflow id."""
        by_spiff = not isinstance(task_id, int)
        row = next((t for t in self.ready_rows() if (t.spiff_id if by_spiff else t.id) == task_id), None)
        if row is None:
            row = self._rows.get(task_id)
        if row is None:
            column = Task.spiff_id if by_spiff else Task.id
            row = self.ctx.session.scalar(select(Task).where(column == task_id, Task.case_id == self.row.id))
            if row is None:
                raise NotFound(f"任务 {task_id} 不存在")
            self._rows[task_id] = row
        return row
