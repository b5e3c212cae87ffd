"""Export a case's history, and replay it against a process version.

An export is self-contained JSON: the item and its time policy, the BPMN it ran on,
the people and departments it involved, the working-day calendar of the years it
touched, and every command with what was observed after it (ready tasks, case state,
pending deadlines). ``replay`` runs the commands again in a fresh in-memory engine
on the recorded clock — on the recorded BPMN or a candidate — and stops at the
first command after which something differs.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .actors import Actor
from .clock import FixedClock, parse_datetime
from .commands import COMMANDS
from .roles import role_name
from engine.store.db import Database
from engine.runtime.definitions import DefinitionCache
from .deploy import deploy
from .errors import ApprovalError, BadInput, NotFound
from .people import actor_for, add_department, add_user
from engine.runtime.definitions import parse_definition
from engine.runtime.values import parse_json
from .executor import Engine
from engine.store.models import CalendarDay, CalendarYear, Case, Deadline, Department, HistoryEntry, Item, ProcessVersion, Task, User, UserRole
from engine.timelimits.policy import policy_from_json
from engine.read.queries import case_history, iso
from engine.runtime.projection import expand_observed, full_ready, full_result, started_version
from engine.timelimits.workdays import WorkCalendar, calendar_version, import_year

FORMAT = "approvals-history/2"  # 2: each command's inputs apart from its result

#: Result keys taken from the file (the version replayed, the policy it started with) rather
#: than what happened.
NOT_COMPARED = {"start_case": {"version", "time_policy"},
                "migrate_case": {"from", "from_version", "to_version"}}  # numbers differ between databases


# ---------------------------------------------------------------------------- export

def _version(session: Session, case: Case, content_hash: str | None) -> ProcessVersion:
    if not content_hash:
        return case.process_version
    return session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == case.item_id,
                                                       ProcessVersion.content_hash == content_hash)) or case.process_version


def export_case(session: Session, case: Case) -> dict[str, Any]:
    """The history with the version the case started on (``process``) and, for a case migrated
    since (``migrate_case``), the versions it moved to (``migrated_to``), so a replay has them."""
    entries = case_history(session, case)
    started = entries[0].payload.get("version") if entries else None
    started = started or started_version(case, (e.payload for e in entries if e.command == "migrate_case"))
    version = _version(session, case, started)
    bpmn = session.scalar(select(type(version).bpmn_xml).where(type(version).id == version.id))
    targets = []
    for e in entries:
        if e.command == "migrate_case" and e.inputs.get("to") not in [t.content_hash for t in targets]:
            targets.append(_version(session, case, e.inputs.get("to")))
    # the observed time-limit state in full (the history keeps the deadlines as changes)
    # and the result and ready tasks as they were written before the history left out what the
    # case row has (``full_result``, ``full_ready``)
    commands = [{"seq": e.seq, "command": e.command, "actor": e.actor, "at": iso(e.at), "inputs": e.inputs,
                 "result": full_result(e.command, e.payload, case, started),
                 "observed": {"ready_tasks": full_ready(e.ready_tasks), "case_state": e.case_state, **(observed or {})}}
                for e, observed in zip(entries, expand_observed(e.observed for e in entries))]
    return {
        "format": FORMAT,
        "case": {"number": case.number, "key": case.key, "applicant": case.applicant, "state": case.state},
        "item": {"code": case.item.code, "name": case.item.name, "department": case.item.department.code,
                 "time_policy": case.started_policy, **_guide(case, entries)},
        "process": {"id": version.process_id, "version": version.version, "hash": version.content_hash,
                    "filename": version.filename, "bpmn": bpmn},
        **({"migrated_to": [{"version": t.version, "hash": t.content_hash, "filename": t.filename,
                             "bpmn": session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == t.id))}
                            for t in targets]} if targets else {}),
        "directory": _directory(session, case, entries),
        "calendar": _calendar(session, case),
        "commands": commands,
    }


#: the parts of an item's guide (办事指南) that commands check: the application fields (提交申请 of a
#: window registration) and the materials (核对材料, 上传材料扫描件)
GUIDE_CHECKED = ("application", "materials")
_USES_MATERIALS = {"record_materials", "attach_material"}


def _guide(case: Case, entries: list[HistoryEntry]) -> dict[str, Any]:
    """The checked parts of the item's guide, for a case registered at the window or whose
    materials were recorded (a replay would otherwise refuse them); nothing for other cases, whose
    exports stay as they were."""
    if case.applicant_info is None and not case.application and not any(e.command in _USES_MATERIALS for e in entries):
        return {}
    guide = case.started_guide  # the guide it was registered under, not the item's as edited since
    return {"guide": {k: guide[k] for k in GUIDE_CHECKED if k in guide}}


def _directory(session: Session, case: Case, entries: list[HistoryEntry]) -> dict[str, Any]:
    """Every department (the tree is small and supervisors are found up it) and the users of the
    departments the case touched, plus every user who acted on it."""
    departments = list(session.scalars(select(Department).order_by(Department.id)))
    involved = {case.item.department_id} | set(session.scalars(select(Task.department_id)
                                                               .where(Task.case_id == case.id)))
    by_id = {d.id: d for d in departments}
    for department_id in list(involved):
        parent = by_id[department_id].parent_id
        while parent is not None:
            involved.add(parent)
            parent = by_id[parent].parent_id
    actors = {e.actor for e in entries} | {e.payload.get("on_behalf_of") for e in entries} - {None}
    users = session.scalars(select(User).where(User.department_id.in_(involved) | User.username.in_(actors))
                            .order_by(User.username))
    supervisors = session.scalars(select(User).join(UserRole).where(UserRole.role == "supervisor"))
    # A deadline that failed for good was reported to the administrators: they are in the payload.
    gave_up = any(e.command == "record_deadline_failure" and e.payload.get("failed") for e in entries)
    admins = session.scalars(select(User).join(UserRole).where(UserRole.role == "admin")) if gave_up else []
    people = {u.username: u for u in list(users) + list(supervisors) + list(admins)}
    return {
        "departments": [{"code": d.code, "name": d.name, "level": d.level,
                         "parent": by_id[d.parent_id].code if d.parent_id else None} for d in departments],
        "users": [{"username": u.username, "display_name": u.display_name, "department": u.department.code,
                   "roles": u.role_codes, "active": u.active} for u in sorted(people.values(), key=lambda u: u.username)],
    }


def _calendar(session: Session, case: Case) -> list[dict[str, Any]]:
    """The loaded years from the case's start to a year after its last deadline."""
    last = session.scalar(select(Deadline.due_on).where(Deadline.case_id == case.id)
                          .order_by(Deadline.due_on.desc()).limit(1))
    first_year = case.started_at.year
    last_year = max(last.year if last else first_year, first_year) + 1
    out = []
    for year in session.scalars(select(CalendarYear).where(CalendarYear.year.between(first_year, last_year))
                                .order_by(CalendarYear.year)):
        days = session.scalars(select(CalendarDay).where(CalendarDay.year == year.year).order_by(CalendarDay.day))
        off, makeup = [], []
        for d in days:
            (off if d.kind == "off" else makeup).append([d.day.isoformat(), d.name])
        out.append({"year": year.year, "source": year.source, "days_off": off, "makeup_days": makeup})
    return out


# ---------------------------------------------------------------------------- reading a file

def load_history(text: str | bytes) -> dict[str, Any]:
    """Parse and check an exported history; a broken file gets a clear ``BadInput``."""
    history = parse_json(text, "历史文件", max_bytes=None)
    if isinstance(history, dict) and history.get("format") == "approvals-history/1":
        raise BadInput("这是旧格式（approvals-history/1）的历史文件，命令的输入和结果未分开保存，"
                       "不能重放；请用当前版本重新导出")
    if not isinstance(history, dict) or history.get("format") != FORMAT:
        raise BadInput(f"不是办件历史文件（format 应为 {FORMAT}）")
    for key in ("case", "item", "process", "directory", "calendar", "commands"):
        if key not in history:
            raise BadInput(f"历史文件缺少 “{key}”")
    commands = history["commands"]
    if not isinstance(commands, list) or not commands:
        raise BadInput("历史文件中没有命令")
    for n, entry in enumerate(commands, 1):
        if not isinstance(entry, dict) or not {"command", "actor", "at", "inputs", "result", "observed"} <= set(entry):
            raise BadInput(f"第 {n} 条命令缺少 command、actor、at、inputs、result 或 observed")
        if not isinstance(entry["inputs"], dict):
            raise BadInput(f"第 {n} 条命令没有记录输入（早期版本的记录），不能重放")
        if entry["command"] not in COMMANDS:
            raise BadInput(f"第 {n} 条命令 “{entry['command']}” 不是已知的命令")
        if entry.get("seq", n) != n:
            raise BadInput(f"第 {n} 条命令的序号是 {entry.get('seq')}：命令不全或顺序有误")
        parse_datetime(str(entry["at"]))
    if commands[0]["command"] != "start_case":
        raise BadInput("历史的第一条命令应为 start_case")
    return history


# ---------------------------------------------------------------------------- replay

@dataclass
class Divergence:
    seq: int
    command: str
    actor: str
    at: str
    what: str
    expected: Any = None
    actual: Any = None

    def message(self) -> str:
        head = f"第 {self.seq} 条命令 {self.command}（{self.actor}，{self.at}）"
        if self.expected is None and self.actual is None:
            return f"{head}：{self.what}"
        return f"{head}之后{self.what}不同：\n  预期：{_show(self.expected)}\n  实际：{_show(self.actual)}"

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "command": self.command, "actor": self.actor, "at": self.at, "what": self.what,
                "expected": self.expected, "actual": self.actual, "message": self.message()}


@dataclass
class ReplayResult:
    case: str
    commands: int
    replayed: int = 0
    divergence: Divergence | None = None
    version: str = ""
    final: Any = None  # what ``replay(..., final=…)`` read from the replayed database at the end

    @property
    def same(self) -> bool:
        return self.divergence is None

    def summary(self) -> str:
        if self.same:
            return f"{self.case}：{self.commands} 条命令重放一致（流程 {self.version[:12]}）"
        return f"{self.case}：在第 {self.divergence.seq} 条命令出现分歧\n{self.divergence.message()}"

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "commands": self.commands, "replayed": self.replayed, "same": self.same,
                "version": self.version, "divergence": self.divergence.to_dict() if self.divergence else None}


def _show(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "element" in value[0]:
        return "、".join(f"{t.get('name')}（{t['element']}，{t.get('department')}，{role_name(t.get('role') or '')}）" for t in value) or "无"
    if isinstance(value, list) and value and isinstance(value[0], dict) and "key" in value[0]:
        return "；".join(f"{d['key']} {d['due_on']} {d['state']}" for d in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass
class _Prepared:
    """A prepared database kept by a ``Replayer``: its image, the content hash of the version its
    histories run on, its calendar as loaded (version, calendar) and the actors looked up in it."""

    image: bytes
    version: str
    calendar: tuple[int, WorkCalendar]
    actors: dict[tuple[str, str | None], Actor] = field(default_factory=dict)


class Replayer:
    """Replays histories; one instance shares between replays the parsed definitions, one in-memory
    database and a snapshot of that database as each history's preparation left it.

    Most histories of a batch (the cases of one item) prepare the same thing — the directory, the
    calendar, the item and its process — so that is built once: the prepared database is kept as a
    SQLite image (``serialize``) under a key of what went into it, and the next history with the
    same key starts from a copy of the image (``deserialize``, a memory copy) instead of creating
    the schema and inserting the catalogue again. The image is exactly what a fresh preparation
    would give (the same rows, ids and sequences), so a replay's outcome does not depend on the
    histories replayed before it."""

    #: prepared images kept (a batch of one item needs one; a mixed batch a few)
    KEEP = 8

    def __init__(self):
        self.definitions = DefinitionCache()
        self._db: Database | None = None
        self._empty: bytes | None = None
        self._prepared: dict[str, _Prepared] = {}  # key → the prepared database

    def _image(self, image: bytes | None = None) -> bytes | None:
        """Read (no argument) or replace the whole in-memory database: its one DB-API connection
        (a ``StaticPool``) serialized or deserialized."""
        conn = self._db.engine.raw_connection()
        try:
            if image is None:
                return conn.driver_connection.serialize()
            conn.driver_connection.deserialize(image)
            return None
        finally:
            conn.close()

    def _database(self, history: dict[str, Any], later_years: set[int], bpmn: bytes | None,
                  filename: str | None) -> tuple[Database, str]:
        """The in-memory database prepared for ``history``, and the hash of the version it runs on."""
        if self._db is None:
            self._db = Database("sqlite://")
            self._db.create_schema()
            self._empty = self._image()
        content = bpmn if bpmn is not None else history["process"]["bpmn"].encode("utf-8")
        key = hashlib.sha256(json.dumps(
            [history["directory"], [y for y in history["calendar"] if int(y["year"]) not in later_years],
             history["item"], filename or history["process"].get("filename") or "history.bpmn",
             hashlib.sha256(content).hexdigest(), [v["hash"] for v in history.get("migrated_to", [])]],
            sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
        at = parse_datetime(history["commands"][0]["at"])
        prepared = self._prepared.get(key)
        if prepared is not None:
            self._image(prepared.image)
            with self._db.transaction() as session:  # the one thing that differs: when it was deployed
                session.execute(update(ProcessVersion).values(deployed_at=at))
                session.execute(update(Item).values(created_at=at))
            return self._db, prepared
        self._image(self._empty)
        with self._db.transaction() as session:
            version = self._prepare(session, history, later_years, content, filename)
        with self._db.reader() as session:
            calendar = (calendar_version(session), WorkCalendar.load(session))
        if len(self._prepared) >= self.KEEP:
            self._prepared.pop(next(iter(self._prepared)))
        prepared = self._prepared[key] = _Prepared(self._image(), version, calendar)
        return self._db, prepared

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def replay(self, history: dict[str, Any], bpmn: bytes | None = None, filename: str | None = None, *,
               final: Callable[[Database], Any] | None = None) -> ReplayResult:
        """Replay ``history``; with ``final``, call it on the replayed database once every command
        replayed the same (``approvals check`` compares the case it made with the stored one)."""
        commands = history["commands"]
        result = ReplayResult(history["case"]["number"], len(commands))
        later_years = {int(e["inputs"]["schedule"]["year"]) for e in commands
                       if e["command"] == "recompute_deadlines" and e["inputs"].get("schedule")}
        try:
            db, prepared = self._database(history, later_years, bpmn, filename)
            result.version = prepared.version
            engine = Engine(db, FixedClock(parse_datetime(commands[0]["at"])), definitions=self.definitions)
            # the prepared database's calendar, loaded once per preparation (a history that imports
            # a schedule changes its version, and the engine reloads it as on any database)
            engine._calendar = prepared.calendar
            # the directory does not change during a replay, and is the same in every history of
            # this preparation (same rows, same ids): each actor is looked up once per preparation
            actors = prepared.actors
            for n, entry in enumerate(commands, 1):
                divergence = self._step(engine, db, n, entry, result.version, actors)
                if divergence is not None:
                    result.divergence = divergence
                    break
                result.replayed = n
            if final is not None and result.same:
                result.final = final(db)
        except BaseException:
            self.close()  # a fresh database for the next replay, whatever this one left behind
            raise
        return result

    def _prepare(self, session: Session, history: dict, later_years: set[int], content: bytes,
                 filename: str | None) -> str:
        directory = history["directory"]
        for d in directory["departments"]:
            add_department(session, d["code"], d["name"], parent=d.get("parent"), level=d.get("level"))
        for u in directory["users"]:
            user = add_user(session, u["username"], roles=u["roles"], department_code=u["department"],
                            password=None, display_name=u.get("display_name"))
            user.active = u.get("active", True)
        for year in history["calendar"]:
            if int(year["year"]) in later_years:
                continue  # imported while the case ran: applied where the history says
            _import(session, year)
        item, process = history["item"], history["process"]
        at = parse_datetime(history["commands"][0]["at"])
        deployment = deploy(session, content, filename or process.get("filename") or "history.bpmn", item["code"],
                            deployed_by="replay", at=at, department_code=item["department"],
                            item_name=item.get("name"))
        for later in history.get("migrated_to", []):  # the versions a migrated case moved to
            deploy(session, later["bpmn"].encode("utf-8"), later.get("filename") or "migrated.bpmn", item["code"],
                   deployed_by="replay", at=at)
        row = session.scalar(select(Item).where(Item.code == item["code"]))
        row.time_policy = policy_from_json(item.get("time_policy")).to_dict() if item.get("time_policy") else None
        if isinstance(item.get("guide"), dict):  # what a window registration and the materials checklist are checked against
            row.guide = {k: v for k, v in item["guide"].items() if k in GUIDE_CHECKED}
        return deployment.version.content_hash

    def _step(self, engine: Engine, db: Database, n: int, entry: dict, version: str,
              actors: dict[tuple[str, str | None], Actor]) -> Divergence | None:
        def diverged(what, expected=None, actual=None):
            return Divergence(n, entry["command"], entry["actor"], entry["at"], what, expected, actual)

        inputs, payload = entry["inputs"], entry["result"]
        try:
            command = COMMANDS[entry["command"]].from_record(inputs, payload, version=version)
        except (KeyError, TypeError) as exc:
            raise BadInput(f"第 {n} 条命令 {entry['command']} 的记录不完整：{exc}") from None
        at = parse_datetime(entry["at"])
        if entry["command"] == "recompute_deadlines" and inputs.get("schedule"):
            with db.transaction() as session:
                _import(session, inputs["schedule"])
        try:
            who = (entry["actor"], payload.get("on_behalf_of"))
            actor = actors.get(who)
            if actor is None:
                actor = actors[who] = _actor(db, *who)
            engine.execute(command, actor, at=at)
        except ApprovalError as exc:
            return diverged(f"被拒绝：{exc.message}")
        # the entry the command wrote, as stored (the engine keeps it: no read back)
        got = engine.last_entry
        if got is None or got["seq"] != n:
            return diverged("没有产生办理记录")
        observed = entry["observed"]
        # what the engine stored, in the full form the recorded file has (``full_ready``, ``full_result``)
        actual = {"ready_tasks": full_ready(got["ready_tasks"]), "case_state": got["case_state"], **(got["observed"] or {})}
        if _unlabelled(observed["ready_tasks"]) != _unlabelled(actual["ready_tasks"]):
            return diverged("待办任务", observed["ready_tasks"], actual["ready_tasks"])
        for key, what in (("case_state", "办件状态"), ("case", "时限状态"), ("deadlines", "待触发的期限")):
            if key in observed and observed[key] != actual.get(key):
                return diverged(what, observed[key], actual.get(key))
        if inputs != got["inputs"]:
            return diverged("命令输入", inputs, got["inputs"])
        skip = NOT_COMPARED.get(entry["command"], set())
        expected_payload = {k: v for k, v in payload.items() if k not in skip}
        started = SimpleNamespace(key=getattr(command, "key", None), number=getattr(command, "number", None))
        actual_payload = {k: v for k, v in full_result(entry["command"], got["payload"], started, version).items() if k not in skip}
        if expected_payload != actual_payload:
            return diverged("命令结果", expected_payload, actual_payload)
        return None


def _unlabelled(tasks: list[dict]) -> list[dict]:
    """Ready tasks without their names: renaming a label is not a change of behaviour."""
    return [{k: v for k, v in t.items() if k != "name"} for t in tasks]


def _actor(db: Database, name: str, on_behalf_of: str | None = None) -> Actor:
    if name == "system":
        return Actor.system()
    if name.startswith("system:"):
        return Actor.system(name.split(":", 1)[1])
    if name.startswith("applicant:"):
        return Actor.applicant(name.split(":", 1)[1])
    with db.reader() as session:
        return actor_for(session, name, on_behalf_of=on_behalf_of)


def _import(session: Session, year: dict) -> None:
    import_year(session, int(year["year"]),
                [(date.fromisoformat(d), name) for d, name in year.get("days_off", [])],
                [(date.fromisoformat(d), name) for d, name in year.get("makeup_days", [])],
                source=str(year.get("source", "")))


def replay(history: dict[str, Any], bpmn: bytes | None = None, filename: str | None = None) -> ReplayResult:
    replayer = Replayer()
    try:
        return replayer.replay(history, bpmn, filename)
    finally:
        replayer.close()


@dataclass
class BatchRow:
    case: str
    outcome: str  # same, diverged, failed
    seq: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "outcome": self.outcome, "seq": self.seq, "message": self.message}


@dataclass
class BatchReport:
    item: str
    rows: list[BatchRow] = field(default_factory=list)
    processes: int = 1
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for r in self.rows if r.outcome == k) for k in ("same", "diverged", "failed")}

    @property
    def histories_per_s(self) -> float:
        return round(len(self.rows) / self.seconds, 1) if self.seconds > 0 else 0.0


#: Below this many cases per process a batch is replayed in this process: starting a worker
#: (a fresh interpreter importing the engine and SpiffWorkflow) costs about as much as replaying
#: a few dozen cases.
CASES_PER_PROCESS = 20


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def replay_item(db: Database, item_code: str, bpmn: bytes, filename: str, *, processes: int | None = None) -> BatchReport:
    """Replay every case of an item (running and concluded) against a candidate BPMN, spread over
    ``processes`` worker processes (default: one per core; fewer for a small batch). Each worker
    reads its cases' histories from the database itself and prepares its throw-away database once;
    the rows come back in case-number order whatever the number of processes."""
    parse_definition(bpmn, filename)  # a broken candidate is refused once, before any case
    report = BatchReport(item_code)
    with db.reader() as session:
        item = session.scalar(select(Item).where(Item.code == item_code))
        if item is None:
            raise NotFound(f"审批事项 {item_code} 不存在")
        numbers = list(session.scalars(select(Case.number).where(Case.item_id == item.id).order_by(Case.number)))
    wanted = processes if processes is not None else min(cores(), len(numbers) // CASES_PER_PROCESS)
    in_memory = db.is_sqlite and make_url(db.url).database in (None, "", ":memory:")  # other processes cannot see it
    report.processes = max(1, min(wanted, len(numbers))) if not in_memory else 1
    start = time.perf_counter()
    if report.processes == 1:
        replayer = Replayer()
        try:
            report.rows = [_replay_one(db, replayer, number, bpmn, filename) for number in numbers]
        finally:
            replayer.close()
    else:
        # spawn, not fork: a forked child would share the parent's open database connections
        context = multiprocessing.get_context("spawn")
        chunk = max(1, min(50, len(numbers) // (report.processes * 4)))
        with context.Pool(report.processes, initializer=_worker_start,
                          initargs=(db.url, bpmn, filename)) as pool:
            report.rows = list(pool.imap(_worker_replay, numbers, chunksize=chunk))
    report.seconds = time.perf_counter() - start
    return report


def _replay_one(db: Database, replayer: Replayer, number: str, bpmn: bytes, filename: str) -> BatchRow:
    with db.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == number)))
    try:
        result = replayer.replay(history, bpmn, filename)
    except Exception as exc:  # one broken case must not hide the others
        return BatchRow(number, "failed", None, f"{type(exc).__name__}: {exc}")
    if result.same:
        return BatchRow(number, "same")
    return BatchRow(number, "diverged", result.divergence.seq, result.divergence.message())


_worker: dict[str, Any] = {}  # in a worker process: its database, replayer and candidate


def _worker_start(url: str, bpmn: bytes, filename: str) -> None:
    _worker.update(db=Database(url), replayer=Replayer(), bpmn=bpmn, filename=filename)


def _worker_replay(number: str) -> BatchRow:
    return _replay_one(_worker["db"], _worker["replayer"], number, _worker["bpmn"], _worker["filename"])
