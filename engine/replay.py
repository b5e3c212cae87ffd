"""Export a case's history, and replay it against a process version.

An export is self-contained JSON: the item and its time policy, the BPMN it ran on,
the people and departments it involved, the working-day calendar of the years it
touched, and every command with what was observed after it (ready tasks, case state,
pending deadlines). ``replay`` runs the commands again in a fresh in-memory engine
on the recorded clock — on the recorded BPMN or a candidate — and stops at the
first command after which something differs.
"""
from __future__ import annotations

import dataclasses

import gc
import hashlib
import json
import multiprocessing
import os
import sys
import threading
import time
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .actors import Actor
from .clock import CHINA_TZ, FixedClock, parse_datetime
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
                "migrate_case": {"from", "from_version", "to_version"},  # numbers differ between databases
                "attach_material": {"attachment"}}  # the attachment's row id, likewise


# ---------------------------------------------------------------------------- export

def export_case(session: Session, case: Case, *, cache: dict | None = None) -> dict[str, Any]:
    """The history with the version the case started on (``process``) and, for a case migrated
    since (``migrate_case``), the versions it moved to (``migrated_to``), so a replay has them.

    ``cache``: a dict kept by the caller across the cases of one batch (``replay_item``), in which
    the parts that are the same for many cases are kept once read — the department tree, the
    directory of a set of departments and actors, the calendar of a span of years, a version's
    BPMN — so that exporting the next case reads only its own rows. The export is the same with or
    without it, but its ``directory`` and ``calendar`` are then shared with the batch's other exports
    (read them, do not change them); the batch sees the directory and the calendar as they were when
    first read."""
    cache = {} if cache is None else cache
    entries = case_history(session, case)
    started = entries[0].payload.get("version") if entries else None
    started = started or started_version(case, (e.payload for e in entries if e.command == "migrate_case"))
    version = _version(session, case, started, cache)
    targets = []
    for e in entries:
        if e.command == "migrate_case" and e.inputs.get("to") not in [t["hash"] for t in targets]:
            targets.append(_version(session, case, e.inputs.get("to"), cache))
    # the observed time-limit state in full (the history keeps the deadlines as changes)
    # and the result and ready tasks as they were written before the history left out what the
    # case row has (``full_result``, ``full_ready``)
    commands = [{"seq": e.seq, "command": e.command, "actor": e.actor, "at": iso(e.at), "inputs": e.inputs,
                 "result": full_result(e.command, e.payload, case, started),
                 "observed": {"ready_tasks": full_ready(e.ready_tasks), "case_state": e.case_state, **(observed or {})}}
                for e, observed in zip(entries, expand_observed(e.observed for e in entries))]
    item, department_id = _item(session, case, cache)
    return {
        "format": FORMAT,
        "case": {"number": case.number, "key": case.key, "applicant": case.applicant, "state": case.state},
        "item": {**item, "time_policy": case.started_policy, **_guide(case, entries)},
        "process": {k: version[k] for k in ("id", "version", "hash", "filename", "bpmn")},
        **({"migrated_to": [{k: t[k] for k in ("version", "hash", "filename", "bpmn")} for t in targets]}
           if targets else {}),
        "directory": _directory(session, case, department_id, entries, cache),
        "calendar": _calendar(session, case, cache),
        "commands": commands,
    }


def _version(session: Session, case: Case, content_hash: str | None, cache: dict) -> dict[str, Any]:
    """The version of the case's item with ``content_hash`` (the case's own version when there is
    none, or none matches) as exported: id, version, hash, filename and BPMN."""
    key = ("version", case.item_id, content_hash or None, case.process_version_id)
    found = cache.get(key)
    if found is None:
        version = None
        if content_hash:
            version = session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == case.item_id,
                                                                  ProcessVersion.content_hash == content_hash))
        version = version or case.process_version
        found = cache[key] = {
            "id": version.process_id, "version": version.version, "hash": version.content_hash,
            "filename": version.filename,
            "bpmn": session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))}
    return found


def _item(session: Session, case: Case, cache: dict) -> tuple[dict[str, Any], int]:
    """The case's item as exported (code, name, department), and its department's id."""
    key = ("item", case.item_id)
    found = cache.get(key)
    if found is None:
        item = case.item
        found = cache[key] = ({"code": item.code, "name": item.name, "department": item.department.code},
                              item.department_id)
    return found


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


def _directory(session: Session, case: Case, department_id: int, entries: list[HistoryEntry],
               cache: dict) -> dict[str, Any]:
    """Every department (the tree is small and supervisors are found up it) and the users of the
    departments the case touched, plus every user who acted on it."""
    tree = cache.get("departments")
    if tree is None:
        departments = list(session.scalars(select(Department).order_by(Department.id)))
        by_id = {d.id: d for d in departments}
        tree = cache["departments"] = (
            {d.id: d.parent_id for d in departments},
            [{"code": d.code, "name": d.name, "level": d.level,
              "parent": by_id[d.parent_id].code if d.parent_id else None} for d in departments])
    parents, listed = tree
    involved = {department_id} | set(session.scalars(select(Task.department_id)
                                                               .where(Task.case_id == case.id)))
    for department_id in list(involved):
        parent = parents[department_id]
        while parent is not None:
            involved.add(parent)
            parent = parents[parent]
    actors = {e.actor for e in entries} | {e.payload.get("on_behalf_of") for e in entries} - {None}
    # A deadline that failed for good was reported to the administrators: they are in the payload.
    gave_up = any(e.command == "record_deadline_failure" and e.payload.get("failed") for e in entries)
    key = ("directory", frozenset(involved), frozenset(actors), gave_up)
    found = cache.get(key)
    if found is None:
        users = session.scalars(select(User).where(User.department_id.in_(involved) | User.username.in_(actors))
                                .order_by(User.username))
        supervisors = session.scalars(select(User).join(UserRole).where(UserRole.role == "supervisor"))
        admins = session.scalars(select(User).join(UserRole).where(UserRole.role == "admin")) if gave_up else []
        people = {u.username: u for u in list(users) + list(supervisors) + list(admins)}
        found = cache[key] = {
            "departments": listed,
            "users": [{"username": u.username, "display_name": u.display_name, "department": u.department.code,
                       "roles": u.role_codes, "active": u.active}
                      for u in sorted(people.values(), key=lambda u: u.username)],
        }
    return found


def _calendar(session: Session, case: Case, cache: dict) -> list[dict[str, Any]]:
    """The loaded years from the case's start to a year after its last deadline."""
    last = session.scalar(select(Deadline.due_on).where(Deadline.case_id == case.id)
                          .order_by(Deadline.due_on.desc()).limit(1))
    first_year = case.started_at.year
    last_year = max(last.year if last else first_year, first_year) + 1
    key = ("calendar", first_year, last_year)
    found = cache.get(key)
    if found is not None:
        return found
    out = []
    for year in session.scalars(select(CalendarYear).where(CalendarYear.year.between(first_year, last_year))
                                .order_by(CalendarYear.year)):
        days = session.scalars(select(CalendarDay).where(CalendarDay.year == year.year).order_by(CalendarDay.day))
        off, makeup = [], []
        for d in days:
            (off if d.kind == "off" else makeup).append([d.day.isoformat(), d.name])
        out.append({"year": year.year, "source": year.source, "days_off": off, "makeup_days": makeup})
    cache[key] = out
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
    #: the history's directory: user name → display name, department code → name (names, not logins)
    people: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        command = COMMANDS[self.command].label if self.command in COMMANDS else self.command
        head = f"第 {self.seq} 条命令“{command}”（{self.people.get(self.actor) or self.actor}，{_when(self.at)}）"
        if self.expected is None and self.actual is None:
            return f"{head}：{self.what}"
        return (f"{head}之后{self.what}不同：\n  预期：{_show(self.expected, self.departments)}"
                f"\n  实际：{_show(self.actual, self.departments)}")

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "command": self.command, "actor": self.actor,
                "actor_name": self.people.get(self.actor) or self.actor, "at": self.at, "what": self.what,
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


def _when(at: str) -> str:
    """A recorded moment (China time, ISO 8601) as people write it: 2026-03-02 10:00."""
    try:
        return parse_datetime(at).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(at)


def _show(value: Any, departments: dict[str, str] | None = None) -> str:
    if isinstance(value, list) and not value:
        return "无"
    if isinstance(value, list) and isinstance(value[0], dict) and "element" in value[0]:
        departments = departments or {}
        return "、".join(f"{t.get('name')}（{t['element']}，{departments.get(t.get('department'), t.get('department'))}，"
                        f"{role_name(t.get('role') or '')}）" for t in value)
    if isinstance(value, list) and value and isinstance(value[0], dict) and "key" in value[0]:
        return "；".join(f"{d['key']} {d['due_on']} {d['state']}" for d in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


#: what a restored image changes: the deployment and the item take the history's start as their time
_REDEPLOYED = update(ProcessVersion).values(deployed_at=bindparam("at"))
_RECREATED = update(Item).values(created_at=bindparam("at"))


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
        self._engine: Engine | None = None  # one engine on ``_db`` for every replay, as a server has one
        self._empty: bytes | None = None
        self._prepared: dict[str, _Prepared] = {}  # key → the prepared database
        self._inherited: list[Any] = []  # a forked worker's copies of its parent's connections

    def after_fork(self) -> None:
        """In a process forked from the one that made this replayer: give the in-memory database a
        connection of this process's own (the parent's is left untouched, and kept referenced so
        that it is never closed from here). The images, parsed definitions and SQLAlchemy's
        compiled statements are inherited, so a forked worker starts warm."""
        if self._db is not None:
            self._inherited.append(self._db.engine.pool)
            self._db.engine.dispose(close=False)

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
            with self._db.engine.begin() as conn:  # the one thing that differs: when it was deployed
                conn.execute(_REDEPLOYED, {"at": at})
                conn.execute(_RECREATED, {"at": at})
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
            self._engine = None

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
            engine = self._engine
            if engine is None or engine.db is not db:
                engine = self._engine = Engine(db, definitions=self.definitions)
            engine.clock = FixedClock(parse_datetime(commands[0]["at"]))
            engine.last_entry = None
            # the prepared database's calendar, loaded once per preparation (a history that imports
            # a schedule changes its version, and the engine reloads it as on any database)
            engine._calendar = prepared.calendar
            # the directory does not change during a replay, and is the same in every history of
            # this preparation (same rows, same ids): each actor is looked up once per preparation
            actors = prepared.actors
            # an online case's applicant acts under the account the case was applied for with
            account = ((commands[0].get("inputs") or {}).get("account")
                       if commands[0].get("command") == "start_case" else None)
            for n, entry in enumerate(commands, 1):
                divergence = self._step(engine, db, n, entry, result.version, actors, account)
                if divergence is not None:
                    directory = history.get("directory") or {}
                    divergence.people = {u["username"]: u.get("display_name") or u["username"]
                                         for u in directory.get("users", [])}
                    divergence.departments = {d["code"]: d.get("name") or d["code"]
                                              for d in directory.get("departments", [])}
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
              actors: dict[tuple[str, str | None], Actor], account: int | None = None) -> Divergence | None:
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
            if account is not None and actor.kind == "applicant":
                actor = dataclasses.replace(actor, account_id=account)
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
    method: str = ""  # how the workers were started (fork, spawn); empty in one process
    #: CPU seconds: this process's during the batch, and each worker's (by process id) — what the
    #: batch would take on idle cores is about ``cpu_self`` plus the largest of ``cpu_workers``
    cpu_self: float = 0.0
    cpu_workers: dict[int, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for r in self.rows if r.outcome == k) for k in ("same", "diverged", "failed")}

    @property
    def histories_per_s(self) -> float:
        return round(len(self.rows) / self.seconds, 1) if self.seconds > 0 else 0.0


#: Below this many cases per process a batch is replayed in this process: the work has to be worth
#: a process (with ``spawn``, where forking is not available, a fresh interpreter importing the
#: engine and SpiffWorkflow costs about as much as replaying a few dozen cases).
CASES_PER_PROCESS = 20


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start_method() -> str:
    """How ``replay_item`` starts its workers: ``fork`` on Linux when this process runs no other
    thread (a thread holding a lock at the fork would leave it held in the child for ever),
    ``spawn`` otherwise."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() \
            and threading.active_count() == 1:
        return "fork"
    return "spawn"


def replay_item(db: Database, item_code: str, bpmn: bytes, filename: str, *, processes: int | None = None,
                method: str | None = None) -> BatchReport:
    """Replay every case of an item (running and concluded) against a candidate BPMN, spread over
    ``processes`` worker processes (default: one per core; fewer for a small batch); the rows come
    back in case-number order whatever the number of processes.

    Each process reads its cases' histories from the database itself (nothing but case numbers and
    one row per case cross between processes), keeping what its cases share (the directory, the
    calendar, the versions' BPMN: ``export_case``'s cache) and one throw-away database prepared
    once. With ``fork`` (``method``, default ``start_method()``) this process replays the first
    case itself before the workers are made, so each worker starts warm: the engine imported, the
    candidate parsed, the throw-away database prepared and SQLAlchemy's statements compiled are all
    inherited; a worker's first act is to open connections of its own (``Engine.dispose(close=False)``,
    the parent's left alone). With ``spawn`` each worker imports and prepares all that itself."""
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
    start, cpu = time.perf_counter(), time.process_time()
    replayer, cache = Replayer(), {}
    try:
        if report.processes == 1:
            report.rows = [_replay_one(db, replayer, cache, number, bpmn, filename) for number in numbers]
        else:
            report.method = method or start_method()
            report.rows = _in_workers(db, replayer, cache, numbers, bpmn, filename, report)
    finally:
        replayer.close()
    report.seconds = time.perf_counter() - start
    report.cpu_self = time.process_time() - cpu
    return report


def _in_workers(db: Database, replayer: Replayer, cache: dict, numbers: list[str], bpmn: bytes, filename: str,
                report: BatchReport) -> list[BatchRow]:
    processes, method = report.processes, report.method
    rows: list[BatchRow] = []
    context = multiprocessing.get_context(method)
    if method == "fork":
        rows.append(_replay_one(db, replayer, cache, numbers[0], bpmn, filename))  # warm up, once, here
        numbers = numbers[1:]
        _worker.update(db=db, replayer=replayer, cache=cache, bpmn=bpmn, filename=filename)
        gc.collect()
        gc.freeze()  # what the workers inherit is not scanned (and so not copied) by their collector
        try:
            pool = context.Pool(processes, initializer=_worker_forked)
        finally:
            gc.unfreeze()
    else:
        pool = context.Pool(processes, initializer=_worker_start, initargs=(db.url, bpmn, filename))
    # small chunks: the two workers finish within a few histories of each other
    chunk = max(1, min(10, len(numbers) // (processes * 8)))
    try:
        for row, pid, cpu in pool.imap(_worker_replay, numbers, chunksize=chunk):
            rows.append(row)
            report.cpu_workers[pid] = cpu
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        _worker.clear()
    return rows


def _replay_one(db: Database, replayer: Replayer, cache: dict, number: str, bpmn: bytes, filename: str) -> BatchRow:
    with db.reader() as session:
        history = export_case(session, session.scalar(select(Case).where(Case.number == number)), cache=cache)
    try:
        result = replayer.replay(history, bpmn, filename)
    except Exception as exc:  # one broken case must not hide the others
        return BatchRow(number, "failed", None, f"{type(exc).__name__}: {exc}")
    if result.same:
        return BatchRow(number, "same")
    return BatchRow(number, "diverged", result.divergence.seq, result.divergence.message())


_worker: dict[str, Any] = {}  # in a worker process: its database, replayer, export cache and candidate


def _worker_start(url: str, bpmn: bytes, filename: str) -> None:
    """A spawned worker: everything made here."""
    _worker.update(db=Database(url), replayer=Replayer(), cache={}, bpmn=bpmn, filename=filename)


def _worker_forked() -> None:
    """A forked worker: ``_worker`` as the parent filled it; connections of its own."""
    db: Database = _worker["db"]
    _worker["inherited"] = [db.engine.pool]  # the parent's connections: never used nor closed here
    db.engine.dispose(close=False)
    _worker["replayer"].after_fork()


def _worker_replay(number: str) -> tuple[BatchRow, int, float]:
    """One case's row, with the worker's process id and the CPU time it has spent so far."""
    w = _worker
    row = _replay_one(w["db"], w["replayer"], w["cache"], number, w["bpmn"], w["filename"])
    return row, os.getpid(), time.process_time()
