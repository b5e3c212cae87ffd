"""``approvals check``: does every case's stored state agree with its history?

For each case, in number order:

* **seq** — its history entries are numbered 1, 2, … without a gap, up to ``cases.last_seq``;
* **tasks** — its ready task rows are the ready user tasks of its stored workflow state, and
  the ready tasks the last history entry recorded;
* **replay** — (for histories with recorded inputs: since migration 0002) replaying its exported history on a throw-away in-memory database gives the
  same result after every command (``engine.replay``) and, at the end, the same case as the
  stored one: its columns, ready tasks, pending deadlines and workflow state;

and for the whole database:

* **deadline** — every armed deadline belongs to a live case: its clock is running and is the
  case's own, and the case is running (or the clock is a follow-up opinion still owed after the
  case concluded).

The history's hash chain is checked by ``approvals audit verify`` (engine/audit.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.executor import Engine
from engine.replay import Replayer, export_case
from engine.runtime.projection import full_ready, observe, open_tasks, snapshot
from engine.runtime.spiff import decode_state, ready_user_tasks
from engine.store.db import Database
from engine.store.models import Case, Clock, Deadline, Document, HistoryEntry

#: the case columns compared with the replayed case
CASE_COLUMNS = ("state", "acceptance", "decision", "card", "suspended", "last_seq", "started_at", "concluded_at",
                "accepted_at", "decided_at", "certificate_no", "materials", "applicant", "account_id", "rating",
                "rated_at")


@dataclass
class Problem:
    case: str
    kind: str  # seq, tasks, replay, deadline
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "kind": self.kind, "message": self.message}


@dataclass
class CheckReport:
    cases: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: cases whose early entries have no recorded inputs (before migration 0002): not replayed
    not_replayable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases": self.cases, "problems": [p.to_dict() for p in self.problems],
                "not_replayable": self.not_replayable}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 300 else text[:300] + "…"


def case_state(session: Session, case: Case) -> dict[str, Any]:
    """What a case is now, without database ids: compared between the stored and the replayed case."""
    columns = {name: getattr(case, name) for name in CASE_COLUMNS}
    columns = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in columns.items()}
    tasks = [{k: v for k, v in t.items() if k != "name"} for t in snapshot(open_tasks(session, case.id))]
    state = session.scalar(select(Case.workflow_state).where(Case.id == case.id))
    documents = [{"kind": d.kind, "number": d.number, "issued_at": d.issued_at.isoformat(), "issued_by": d.issued_by,
                  "detail": d.detail}
                 for d in session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id))]
    observed = observe(session, case)
    # the columns beside the observed flags: spread after them, the observed "case" used to replace
    # the columns, and only the four flags were ever compared
    return {"case": {**observed["case"], **columns}, "ready_tasks": tasks, "deadlines": observed["deadlines"],
            "workflow": json.loads(decode_state(state)) if state else None, "documents": documents}


def _replayed_state(db: Database) -> dict[str, Any]:
    with db.reader() as session:
        return case_state(session, session.scalar(select(Case)))  # a replay database holds one case


class Checker:
    """Checks cases; one instance shares parsed definitions and the replayer between cases."""

    def __init__(self, db: Database):
        self.db = db
        self.engine = Engine(db)  # only to restore stored workflows (definitions, codec)
        self.replayer = Replayer()
        self.not_replayable: list[str] = []

    def run(self, number: str | None = None) -> CheckReport:
        report = CheckReport()
        with self.db.reader() as session:
            query = select(Case.number).order_by(Case.number)
            if number is not None:
                query = query.where(Case.number == number)
            numbers = list(session.scalars(query))
        try:
            for n in numbers:
                report.cases += 1
                report.problems += self.check_case(n)
        finally:
            self.replayer.close()
        report.problems += self.check_deadlines(number)
        report.not_replayable = list(self.not_replayable)
        return report

    def check_case(self, number: str) -> list[Problem]:
        with self.db.reader() as session:
            case = session.scalar(select(Case).where(Case.number == number))
            problems = self._seq(session, case)
            problems += self._tasks(session, case)
            if any(p.kind == "seq" for p in problems):
                return problems + [Problem(number, "replay", "历史记录不全，无法重放核对")]
            history = export_case(session, case)
            stored = case_state(session, case)
        if any(entry["inputs"] is None for entry in history["commands"]):
            self.not_replayable.append(number)  # written before inputs were kept (migration 0002)
            return problems
        problems += self._replay(number, history, stored)
        return problems

    @staticmethod
    def _seq(session: Session, case: Case) -> list[Problem]:
        seqs = list(session.scalars(select(HistoryEntry.seq).where(HistoryEntry.case_id == case.id)
                                    .order_by(HistoryEntry.seq)))
        if not seqs:
            return [Problem(case.number, "seq", f"没有任何历史记录（办件记录到第 {case.last_seq} 条）")]
        missing = sorted(set(range(1, max(seqs[-1], case.last_seq) + 1)) - set(seqs))
        if missing:
            shown = "、".join(str(s) for s in missing[:10]) + ("等" if len(missing) > 10 else "")
            return [Problem(case.number, "seq", f"历史序号不连续：缺少第 {shown} 条")]
        if seqs[-1] != case.last_seq:
            return [Problem(case.number, "seq", f"历史有 {seqs[-1]} 条，办件记录的最后序号是 {case.last_seq}")]
        return []

    def _tasks(self, session: Session, case: Case) -> list[Problem]:
        problems = []
        rows = open_tasks(session, case.id)
        stored = {t.spiff_id: t for t in rows if t.kind == "bpmn"}
        version = case.process_version
        workflow = self.engine.codec.load(session.scalar(select(Case.workflow_state).where(Case.id == case.id)),
                                          *_specs(self.engine.definition(session, version)))
        ready = {t.id: t.element for t in ready_user_tasks(workflow)}
        if set(stored) != set(ready):
            extra = [f"{stored[i].name}（任务 {stored[i].id}）" for i in stored if i not in ready]
            missing = [ready[i] for i in ready if i not in stored]
            parts = ([f"流程中并未就绪的待办任务行：{'、'.join(extra)}"] if extra else []) + \
                    ([f"流程中就绪却没有待办任务行的环节：{'、'.join(missing)}"] if missing else [])
            problems.append(Problem(case.number, "tasks", "待办任务与流程状态不符：" + "；".join(parts)))
        last = session.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                              .order_by(HistoryEntry.seq.desc()).limit(1))
        # both in the full form: entries written before keep an unclaimed task's "assignee": null
        if last is not None and _unlabelled(full_ready(last.ready_tasks)) != _unlabelled(full_ready(snapshot(rows))):
            problems.append(Problem(case.number, "tasks", f"待办任务与最后一条历史记录（第 {last.seq} 条）不符：记录为 "
                                    f"{_short(last.ready_tasks)}，实际为 {_short(snapshot(rows))}"))
        return problems

    def _replay(self, number: str, history: dict[str, Any], stored: dict[str, Any]) -> list[Problem]:
        try:
            result = self.replayer.replay(history, final=_replayed_state)
        except Exception as exc:  # one broken case must not hide the others
            return [Problem(number, "replay", f"重放失败：{type(exc).__name__}: {exc}")]
        if not result.same:
            return [Problem(number, "replay", "重放与历史不一致：" + result.divergence.message())]
        replayed = result.final
        problems = []
        for key, what in (("case", "办件"), ("ready_tasks", "待办任务"), ("deadlines", "待触发的期限"),
                          ("workflow", "流程运行状态"), ("documents", "文书（documents）")):
            if stored.get(key) != replayed.get(key):
                if key == "case":
                    diff = {k: (v, replayed["case"].get(k)) for k, v in stored["case"].items()
                            if replayed["case"].get(k) != v}
                    detail = "；".join(f"{k} 保存为 {_short(a)}，重放得 {_short(b)}" for k, (a, b) in diff.items())
                elif key == "workflow":
                    detail = "保存的流程状态与重放的不同"
                else:
                    detail = f"保存为 {_short(stored.get(key))}，重放得 {_short(replayed.get(key))}"
                problems.append(Problem(number, "replay", f"保存的{what}与重放历史的结果不同：{detail}"))
        return problems

    def check_deadlines(self, number: str | None = None) -> list[Problem]:
        """Armed deadlines that belong to no live case."""
        with self.db.reader() as session:
            query = (select(Deadline, Clock, Case).join(Clock, Deadline.clock_id == Clock.id)
                     .join(Case, Deadline.case_id == Case.id).where(Deadline.state == "armed")
                     .order_by(Case.number, Deadline.key))
            if number is not None:
                query = query.where(Case.number == number)
            problems = []
            for deadline, clock, case in session.execute(query):
                if clock.case_id != case.id:
                    why = "它的时限属于另一个办件"
                elif clock.state != "running":
                    why = f"它的时限 {clock.key} 已{'停止' if clock.state == 'stopped' else '中止'}"
                elif case.state != "running" and clock.kind != "followup":
                    why = "办件已办结"
                else:
                    continue
                problems.append(Problem(case.number, "deadline",
                                        f"待触发的期限 {deadline.key}（{deadline.due_on.isoformat()}）无效：{why}"))
            return problems


def _specs(definition) -> tuple[Any, Any]:
    return definition.spec, definition.subprocess_specs


def _unlabelled(tasks: list[dict]) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "name"} for t in tasks]


def check(db: Database, number: str | None = None) -> CheckReport:
    return Checker(db).run(number)
