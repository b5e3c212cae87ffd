"""The relational model. Runs unchanged on SQLite and PostgreSQL.

Runtime state of a case lives in ``cases.workflow_state`` (SpiffWorkflow's
serialization without the specification, which is shared per process version);
everything people query — tasks, history — is projected into indexed tables.

The schema is made by the migrations in ``engine/store/migrations``, not from these classes:
a change here needs a new revision there (docs/architecture.md, "Schema changes").
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, event, false, inspect, true)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from engine.store.enums import checks

JSONType = JSON().with_variant(JSONB(), "postgresql")
#: JSON kept as text on PostgreSQL too (``json``, not ``jsonb``): for the history's small documents,
#: which are written once and read whole or by a JSON path, JSONB's binary form (offsets for every
#: key and value) costs about a fifth more than compact text (migration 0018, docs/performance.md)
JSONText = JSON()
#: JSON whose Python None is SQL NULL, not a JSON ``null``: for the case's columns where NULL means
#: "the item's" (``Case.started_policy``) or "not registered", so that a query's ``IS NULL`` and
#: ``coalesce`` see every None, whoever wrote it (migration 0018 turned the JSON nulls into NULL)
JSONOrNull = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on both SQLite (naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be timezone-aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class HexDigest(TypeDecorator):
    """A sha256 digest, hex text in Python, kept as its 32 bytes (half the 64 characters of its hex
    form; migration 0018). A digest written before as hex text reads as it is: on PostgreSQL 0018
    converted them, on SQLite the column keeps its declared VARCHAR and holds either form."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(LargeBinary(32) if dialect.name == "postgresql" else String(64))

    def process_bind_param(self, value: Optional[str], dialect):
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value, dialect) -> Optional[str]:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).hex()
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Meta(Base):
    """Facts about this database itself, such as whether it is a simulation."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Sequence(Base):
    """Named counters (case numbers per item and day)."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class LoginFailure(Base):
    """Recent failed logins of one account or one address (``engine/login_throttle.py``)."""

    __tablename__ = "login_failures"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "user:NAME" or "addr:IP"
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[Optional[datetime]]


class CalendarYear(Base):
    """A year whose official schedule is loaded; days in other years are provisional."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(128))


class CalendarDay(Base):
    """An exception to the Monday–Friday rule: a day off (法定节假日) or a makeup working day (调休)."""

    __tablename__ = "calendar_days"
    __table_args__ = checks("calendar_days")
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # off | makeup
    name: Mapped[str] = mapped_column(String(64), default="")


class Department(Base):
    """A unit in the administrative tree: city → county → township → village."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[Optional[str]] = mapped_column(String(16))
    #: the full official name printed on documents (某市市场监督管理局), where ``name`` is the short one
    official_name: Mapped[Optional[str]] = mapped_column(String(128))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"))
    #: a deactivated department keeps its records (cases, items, history name it) but gets no
    #: new users or sub-departments (engine/commands/organisation.py)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    parent: Mapped[Optional["Department"]] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: AB岗: the named backup, who sees and handles this user's tasks while the user is away
    backup_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a temporary password set by an administrator: the user must choose their own at the next login
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    department: Mapped[Department] = relationship(lazy="joined")
    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_codes(self) -> list[str]:
        return sorted(r.role for r in self.roles)


class ApplicantAccount(Base):
    """An applicant's account in the online hall (网上办事大厅): a natural person known by their
    居民身份证号码, or a legal person by its 统一社会信用代码 (``login``). ``info`` is the applicant
    as a window would register them (engine/intake.py ``check_applicant``); an online application
    carries it into the case (0021)."""

    __tablename__ = "applicant_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    info: Mapped[dict[str, Any]] = mapped_column()
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    #: a temporary password set at the window (重置密码): the applicant chooses their own at the next login
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Item(Base):
    """An approval item (审批事项)."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime]
    time_policy: Mapped[Optional[dict[str, Any]]]  # engine.timelimits.policy.TimePolicy as JSON; None = defaults
    kind: Mapped[Optional[str]] = mapped_column(String(16))  # 即办件 承诺件 联办件 上报件
    guide: Mapped[Optional[dict[str, Any]]]  # the published guide (办事指南) from the catalogue
    numbering: Mapped[Optional[dict[str, Any]]]  # the case-number rule; None = item code, date, sequence
    catalogue_file: Mapped[Optional[str]] = mapped_column(String(255))
    #: set while an administrator has suspended the item (no new cases): {"at", "by", "reason"} (0015)
    hold: Mapped[Optional[dict[str, Any]]]
    department: Mapped[Department] = relationship()


class ProcessVersion(Base):
    """An immutable deployed BPMN definition of an item, identified by its content hash."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("item_id", "content_hash"), UniqueConstraint("item_id", "version"))
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = deferred(mapped_column(Text))
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]
    item: Mapped[Item] = relationship()


class Case(Base):
    """A case (办件). ``version`` gives optimistic concurrency: every command bumps it."""

    __tablename__ = "cases"
    #: the applicant, and the number beside it (0019): a search for part of either with no letter or
    #: digit scans this narrow index; any other goes through the grams' index (0020, engine/store/grams.py)
    __table_args__ = (*checks("cases"), Index("ix_cases_applicant", "applicant", "number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    applicant: Mapped[str] = mapped_column(String(255))
    #: the applicant as registered (engine/intake.py): kind natural|legal, identity number or credit
    #: code, phone, legal representative, contact; None for an online application in one's own name
    applicant_info: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONOrNull)
    #: the item's application fields as filled in (the catalogue's ``application:``)
    application: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONOrNull)
    state: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)  # case search's order, statistics' period (0007)
    concluded_at: Mapped[Optional[datetime]] = mapped_column(index=True)  # statistics: concluded in a period
    last_event_at: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: None while pending; supplement (one-time notice issued), accepted, deemed, refused
    acceptance: Mapped[Optional[str]] = mapped_column(String(16))
    accepted_at: Mapped[Optional[datetime]]
    decision: Mapped[Optional[str]] = mapped_column(String(16))  # grant, deny, deemed_grant
    decided_at: Mapped[Optional[datetime]]
    card: Mapped[Optional[str]] = mapped_column(String(8), index=True)  # yellow, red
    certificate_no: Mapped[Optional[str]] = mapped_column(String(128))  # licence/certificate at conclusion
    #: the materials checklist: {name: {"status": received|missing|deferred, "due_on": date for 容缺}}
    materials: Mapped[Optional[dict[str, Any]]]
    #: the item's time policy when the case started, stored when the item's policy changes after it
    #: (None: the item's policy is still the one it started under, ``started_policy``): a case keeps
    #: the limits it started with (``deploy.keep_started``; migration 0018)
    time_policy: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONOrNull)
    #: the item's guide (办事指南) when the case started, stored when the item's guide changes after
    #: it (None: the item's guide is still the one it started under): its materials checklist and
    #: application fields stay those it was registered under when an administrator edits the guide
    guide: Mapped[Optional[dict[str, Any]]] = deferred(mapped_column(JSONOrNull, nullable=True))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    #: set while an administrator has suspended the case (挂起, engine/operations.py): {"at", "by",
    #: "reason", "item": suspended with its whole item, "clocks": the clock keys it paused} (0015)
    hold: Mapped[Optional[dict[str, Any]]]
    #: the hash of the last history entry (engine/audit.py): with ``last_seq`` the head of the chain,
    #: so that entries missing from the end of the history are found
    history_head: Mapped[Optional[str]] = mapped_column(HexDigest)
    workflow_state: Mapped[str] = deferred(mapped_column(Text))
    #: the applicant's online account (网上办事) for a case applied for online, else None; no foreign
    #: key: a replay's throw-away database has the case without the account (0021)
    account_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    #: 好差评: the applicant's rating of the service, 1 (非常不满意) … 5 (非常满意), once concluded (0021)
    rating: Mapped[Optional[int]] = mapped_column(Integer)
    #: when it was given: statistics count a rating in the period it was given (0021)
    rated_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    #: 查询码: six random digits printed on the 收件凭证; with the case number, what 办件查询 asks
    #: for (0021). Not in the history: a replay's case gets its own
    query_code: Mapped[Optional[str]] = mapped_column(String(8))
    item: Mapped[Item] = relationship()
    process_version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def started_guide(self) -> dict[str, Any]:
        """The guide the case was registered under: the item's while that has not changed since
        (a case stores a copy only when the item's guide changes: ``deploy.keep_started``)."""
        return self.guide if self.guide is not None else (self.item.guide or {})

    @property
    def started_policy(self) -> dict[str, Any] | None:
        """The time policy the case started under (None: the defaults): the item's while that has
        not changed since (a case stores a copy only when the item's policy changes:
        ``deploy.keep_started``). Read it with ``policy_from_json``."""
        return self.time_policy if self.time_policy is not None else self.item.time_policy


class Task(Base):
    """A user task, projected from the workflow after every command."""

    __tablename__ = "tasks"
    __table_args__ = (
        *checks("tasks"),
        # the inbox's pieces, read from the index alone (0010, 0019: engine/read/queries.py _inbox_pieces)
        Index("ix_tasks_inbox", "state", "department_id", "role", "due_on", "id", "assignee_id"),
        Index("ix_tasks_alert", "state", "department_id", "role", "alert", "due_on", "id", "assignee_id"),
        Index("ix_tasks_department_due", "state", "department_id", "due_on", "id"),
        Index("ix_tasks_department_alert", "state", "department_id", "alert", "due_on", "id"),
        Index("ix_tasks_done", "completed_by_id", "completed_at"),
        Index("ix_tasks_case_state", "case_id", "state"),
        Index("ix_tasks_assignee_state", "assignee_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="ready")
    created_at: Mapped[datetime]
    completed_at: Mapped[Optional[datetime]]
    completed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    opinion: Mapped[Optional[str]] = mapped_column(Text)
    form_data: Mapped[Optional[dict[str, Any]]]
    #: bpmn: a user task of the workflow; followup: an opinion owed after a deemed approval
    kind: Mapped[str] = mapped_column(String(16), default="bpmn")
    deemed: Mapped[bool] = mapped_column(Boolean, default=False)  # concluded as agreed at its limit
    followup_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    #: for the inbox, kept by the timekeeper: the day the step's limit (or else the case's) runs
    #: out, and the worst alert so far (warning, yellow, red)
    due_on: Mapped[Optional[date]] = mapped_column(Date)
    alert: Mapped[Optional[str]] = mapped_column(String(8))
    draft: Mapped[Optional[dict[str, Any]]]  # 暂存: the form and opinion saved so far
    delegated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # 委派: whose it is
    #: bumped whenever the task itself changes hands or state (see ``_bump_task_version``); a form
    #: carries it, so a form is refused as stale only when its own task changed
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    case: Mapped[Case] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[Optional[User]] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[Optional[User]] = relationship(foreign_keys=[completed_by_id])
    delegated_by: Mapped[Optional[User]] = relationship(foreign_keys=[delegated_by_id])


#: What makes a task "changed" for a form rendered earlier: its state, who holds it, delegation.
#: Drafts, due dates and alerts (the sweep's warnings) are not.
TASK_IDENTITY = ("state", "assignee_id", "delegated_by_id", "completed_at")


@event.listens_for(Task, "before_update")
def _bump_task_version(_mapper, _connection, task: Task) -> None:
    state = inspect(task)
    changed = state.committed_state  # the attributes set since the load (their values may be the same)
    if any(name in changed and state.attrs[name].history.has_changes() for name in TASK_IDENTITY):
        task.version = (task.version or 1) + 1


class Clock(Base):
    """A running time limit of a case: acceptance, decision, a step, licence issue, a
    follow-up opinion, or a suspended period. Deadlines hang off it.

    Limits are whole working days counted from ``started_on`` (not itself counted);
    extensions and suspended working days push every deadline of the clock.
    """

    __tablename__ = "case_clocks"
    __table_args__ = (UniqueConstraint("case_id", "key"), *checks("case_clocks"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))  # stable within the case, e.g. decision, step.<task>
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    started_at: Mapped[datetime]
    started_on: Mapped[date] = mapped_column(Date)
    limit_days: Mapped[int] = mapped_column(Integer)
    statutory_days: Mapped[Optional[int]] = mapped_column(Integer)
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    suspended_days: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="running")  # running, paused, stopped
    paused_on: Mapped[Optional[date]] = mapped_column(Date)
    stopped_at: Mapped[Optional[datetime]]
    outcome: Mapped[Optional[str]] = mapped_column(String(16))  # on_time, late, deemed, cancelled
    detail: Mapped[dict[str, Any]]
    task: Mapped[Optional[Task]] = relationship()


class Deadline(Base):
    """A moment at which something must happen to a case: a warning, a card, an escalation,
    a deemed decision, the end of a suspended period, a BPMN timer.

    The sweep reads only ``state = 'armed' AND due_at <= now`` through ``ix_deadlines_due``.
    A failed firing is retried by moving ``due_at`` forward (backoff).
    """

    __tablename__ = "deadlines"
    __table_args__ = (*checks("deadlines"), UniqueConstraint("case_id", "key"), Index("ix_deadlines_due", "state", "due_at"),
                      Index("ix_deadlines_provisional", "provisional", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("case_clocks.id"))
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    offset_days: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="armed")  # armed, paused, fired, cancelled, failed
    detail: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    fired_at: Mapped[Optional[datetime]]
    clock: Mapped[Clock] = relationship()


class Message(Base):
    """An in-app message (站内消息) to one user: warnings, cards, escalations, failures."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_inbox", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[Optional[datetime]]
    case: Mapped[Optional[Case]] = relationship()


class CaseRequest(Base):
    """A request that waits for someone else's decision: an extension (延期) asked by the
    handler for the authority's 负责人 to approve or refuse."""

    __tablename__ = "case_requests"
    __table_args__ = (*checks("case_requests"), Index("ix_case_requests_pending", "kind", "state", "department_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # who decides
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, refused
    detail: Mapped[dict[str, Any]]
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime]
    decided_by: Mapped[Optional[str]] = mapped_column(String(128))
    decided_at: Mapped[Optional[datetime]]
    decision_note: Mapped[Optional[str]] = mapped_column(Text)
    case: Mapped[Case] = relationship()


class Notice(Base):
    """A written notice to the applicant: one-time notice of missing materials, suspended
    period, extension, deemed acceptance or approval."""

    __tablename__ = "case_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))


class Attachment(Base):
    """A scanned material received with an application. The file itself lives in the file store
    (engine/files.py, outside the web root) under its sha256; this row says whose and what it is."""

    __tablename__ = "case_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    material: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(128))
class Document(Base):
    """An official document (文书) issued to the applicant, numbered once by the command that
    issued it (engine/documents.py); the number is in the command's result, so replay keeps it."""

    __tablename__ = "documents"
    __table_args__ = (*checks("documents"), UniqueConstraint("number", name="uq_documents_number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime]
    #: the member of staff who issued it (经办人), by username
    issued_by: Mapped[str] = mapped_column(String(128))
    #: what the document says that the case will not (the reason, the materials asked for)
    detail: Mapped[dict[str, Any]]


class HistoryEntry(Base):
    """One command applied to a case. Append-only: database triggers refuse UPDATE and DELETE,
    and on PostgreSQL TRUNCATE (migrations 0001 and 0004; a migration that copies this table must
    recreate them). Tamper-evident: each entry's ``hash`` chains it to the one before (engine/audit.py)."""

    __tablename__ = "case_history"
    __table_args__ = (UniqueConstraint("case_id", "seq"), Index("ix_case_history_actor", "actor", "command"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    command: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    #: the command's inputs as given (None on entries written before inputs were kept apart)
    inputs: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONText)
    #: what the command produced: ids it minted, values it computed, whom it told; and
    #: ``on_behalf_of`` where the actor stood in for an away colleague (AB岗)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONText)
    ready_tasks: Mapped[list[Any]] = mapped_column(JSONText)
    case_state: Mapped[str] = mapped_column(String(16))
    #: after the command: pending deadlines and the case's time-limit state (what replay compares)
    observed: Mapped[dict[str, Any]] = mapped_column(JSONText)
    #: sha256 over the previous entry's hash and this entry's canonical form (engine/audit.py)
    hash: Mapped[Optional[str]] = mapped_column(HexDigest)



class ProcessDraft(Base):
    """A diagram a designer saved from the modeler: not deployed, not case state (so not a
    command), but who saved what and when is kept. Every save is a new row; an item's latest
    one is what the administrator is asked to deploy (待管理员部署)."""

    __tablename__ = "process_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("items.id"), index=True)  # None: a new process
    based_on_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_versions.id"))  # the version opened
    title: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = deferred(mapped_column(Text, nullable=False))
    content_hash: Mapped[str] = mapped_column(String(64))
    errors: Mapped[int] = mapped_column(Integer)  # what lint found when it was saved
    warnings: Mapped[int] = mapped_column(Integer)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]
    item: Mapped[Optional[Item]] = relationship()


class VersionActivation(Base):
    """Every change of the version an item's new cases start on: a deploy (from a designer's
    draft or the command line) or a rollback to an earlier version, with who, when and why.
    An item's current version is its latest activation's (the newest version if it has none, as
    before activations existed). Versions themselves stay immutable; cases keep theirs."""

    __tablename__ = "version_activations"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    act: Mapped[str] = mapped_column(String(16))  # deploy, rollback
    draft_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_drafts.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    version: Mapped[ProcessVersion] = relationship()


class Finding(Base):
    """A supervision finding (电子监察): something in a case's history or state that the supervisor
    must look at, with the history entries that show it (``evidence``: seqs) and where it stands.
    Detected by ``engine/supervision/findings.py`` through the ``detect_findings`` command; each
    (case, kind, key) is found once."""

    __tablename__ = "supervision_findings"
    __table_args__ = (*checks("supervision_findings"), UniqueConstraint("case_id", "kind", "key"),
                      Index("ix_supervision_findings_state", "state", "department_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120), default="")
    #: the department answerable for it (asked to explain)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    state: Mapped[str] = mapped_column(String(16), default="open")
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]]  # history seqs of the case
    detected_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: the trail of what was done with it: [{"act", "by", "at", "note"}]
    trail: Mapped[list[Any]]
    case: Mapped[Case] = relationship()
    department: Mapped[Department] = relationship()


class EfficiencyWarning(Base):
    """效能告诫: a formal warning to a clerk, a unit, or a unit's head; ``proposed`` when the
    two-warnings-a-year rule proposes one to a head for the supervisor to confirm."""

    __tablename__ = "efficiency_warnings"
    __table_args__ = (*checks("efficiency_warnings"), Index("ix_efficiency_warnings_unit", "department_id", "year"))
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(16))  # person, unit, head
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="issued")
    reason: Mapped[str] = mapped_column(Text)
    cases: Mapped[list[Any]]  # case numbers
    findings: Mapped[list[Any]]  # finding ids
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    decided_by: Mapped[Optional[str]] = mapped_column(String(128))
    decided_at: Mapped[Optional[datetime]]
    user: Mapped[Optional[User]] = relationship()
    department: Mapped[Department] = relationship()


class CommandRefusal(Base):
    """A case command the engine refused as out of order (``Conflict``) or not allowed
    (``NotAllowed``): written by ``Engine.execute`` in its own short transaction after the refused
    one rolled back, so that the 流程错误 finding has something to show. Append-only; the message
    is cut to ``MAX_MESSAGE``. ``case_id`` is empty when the refusal came before the case was
    found (a start refused, a task that does not load)."""

    __tablename__ = "command_refusals"
    MAX_MESSAGE = 500
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    command: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    code: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)


class TrendFigures(Base):
    """The figures of a month that has ended (on the injected clock), computed once for the
    report's six-month trend: a finished month's histories no longer change. Keyed by period
    (``YYYY-MM``) and assessment scheme; ``calendar_version`` is the working-day calendar they
    were computed with (a changed calendar recomputes them)."""

    __tablename__ = "trend_figures"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(64), primary_key=True)
    calendar_version: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime]


class AdministrationAct(Base):
    """One administrative command on no case (the organisation, the catalogue, an item as a whole):
    who did what, when, with which inputs and result. Append-only, like ``supervision_acts``."""

    __tablename__ = "administration_acts"
    id: Mapped[int] = mapped_column(primary_key=True)
    command: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(index=True)
    inputs: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]


class SupervisionAct(Base):
    """One supervision command (detecting findings, acknowledging, asking to explain, explaining,
    closing, 效能告诫): the record of acts that concern no single case history."""

    __tablename__ = "supervision_acts"
    id: Mapped[int] = mapped_column(primary_key=True)
    command: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(index=True)
    inputs: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
