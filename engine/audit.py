"""The tamper-evident case history: a hash chain over every case's entries.

Each history entry carries ``hash = sha256(previous hash + "\\n" + canonical(entry))``; the
first entry of a case chains from ``GENESIS + case key``. The case row keeps the head of its
chain (``cases.last_seq`` and ``cases.history_head``), so entries removed from the end, or the
whole table emptied, are found as well as a row changed, deleted or moved to another seq.

The canonical form is sorted-key compact JSON of the entry's values *as they read back from the
database* (JSON text on both since migration 0018; PostgreSQL's JSONB, which the columns were
before, normalizes numbers), and times as UTC with
microseconds: the same bytes on both databases. ``seal`` therefore hashes what the database will
return, not what the command produced. Migration 0005 spells out the same form to hash the
entries that existed before the chain (a revision never imports this module).

This detects changes made by anyone who does not recompute the chain; someone with write access
to the database who knows the scheme can rewrite a whole chain consistently. Keeping the heads
printed by ``approvals audit verify --json`` somewhere else (docs/security.md) closes that gap.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.store.models import Case, HistoryEntry

GENESIS = "approvals-history-chain/1:"
#: the entry's values that the hash covers, besides the case key (in the genesis), seq and time
JSON_FIELDS = ("inputs", "payload", "ready_tasks", "observed")


def utc_text(value: datetime) -> str:
    """A time as the chain writes it: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(seq: int, command: str, actor: str, at: datetime, case_state: str, values: dict[str, Any]) -> bytes:
    body = {"seq": seq, "command": command, "actor": actor, "at": utc_text(at), "case_state": case_state,
            **{name: values.get(name) for name in JSON_FIELDS}}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain(previous: str, entry: bytes) -> str:
    return hashlib.sha256(previous.encode("ascii") + b"\n" + entry).hexdigest()


def genesis(case_key: str) -> str:
    return GENESIS + case_key


def entry_hash(previous: str, entry: HistoryEntry) -> str:
    values = {name: getattr(entry, name) for name in JSON_FIELDS}
    return chain(previous, canonical(entry.seq, entry.command, entry.actor, entry.at, entry.case_state, values))


def as_stored(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """The JSON values as the database will hand them back: the history keeps JSON text on both
    databases (on PostgreSQL ``json``, not ``jsonb``, since migration 0018), so what reads back is
    what the JSON text of the values gives. (Entries written while the columns were JSONB hold
    JSONB's normalized numbers, and read back as those, which their hashes cover.)"""
    return json.loads(json.dumps(values))


def seal(session: Session, entry: HistoryEntry, case: Case) -> dict[str, Any]:
    """Give a new entry its hash, chained from the case's head, and make it the head. Returns the
    entry's JSON values as the database will hand them back (what the hash covers)."""
    previous = case.history_head if entry.seq > 1 and case.history_head else genesis(case.key)
    values = as_stored(session, {name: getattr(entry, name) for name in JSON_FIELDS})
    entry.hash = chain(previous, canonical(entry.seq, entry.command, entry.actor, entry.at, entry.case_state, values))
    case.history_head = entry.hash
    return values


# ---------------------------------------------------------------------------- verifying

@dataclass
class Finding:
    """The first entry of a case that does not match its chain (or the head on the case row)."""

    case: str
    seq: int | None
    what: str

    def message(self) -> str:
        where = f"第 {self.seq} 条记录" if self.seq is not None else "历史记录"
        return f"办件 {self.case} {where}：{self.what}"

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "seq": self.seq, "what": self.what, "message": self.message()}


@dataclass
class AuditReport:
    cases: int = 0
    entries: int = 0
    findings: list[Finding] = field(default_factory=list)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)  # case number -> last seq and hash
    #: append-only triggers that are gone: the history is no longer protected, whatever the chain says
    missing_guards: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.missing_guards

    def guards_message(self) -> str:
        return (f"保护历史记录只增不改的触发器已被删除：{'、'.join(self.missing_guards)}。数据库已不再拒绝修改或删除"
                f"历史记录：请核查谁有数据库的写权限，并由管理员按迁移 0005 中的语句重建触发器") if self.missing_guards else ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases": self.cases, "entries": self.entries,
                "findings": [f.to_dict() for f in self.findings], "heads": self.heads,
                "missing_guards": self.missing_guards}


def verify_case(session: Session, case: Case) -> tuple[Finding | None, int]:
    """The first entry of ``case`` that breaks the chain, or None; and how many entries it has."""
    entries = list(session.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case.id)
                                   .order_by(HistoryEntry.seq, HistoryEntry.id)))
    previous = genesis(case.key)
    for expected, entry in enumerate(entries, 1):
        if entry.seq != expected:
            what = (f"序号应为 {expected}，实为 {entry.seq}：之前的记录被删除" if entry.seq > expected
                    else f"序号 {entry.seq} 重复")
            return Finding(case.number, expected, what), len(entries)
        if not entry.hash:
            return Finding(case.number, entry.seq, "没有哈希值"), len(entries)
        if entry_hash(previous, entry) != entry.hash:
            return Finding(case.number, entry.seq, f"内容与哈希值不符：记录（{entry.command}，{entry.actor}）"
                                                   "被修改、调换了序号，或之前的记录被改动"), len(entries)
        previous = entry.hash
    last = entries[-1].seq if entries else 0
    if last != case.last_seq:
        what = (f"办件记录到第 {case.last_seq} 条，历史中只有到第 {last} 条：末尾的记录被删除或历史表被清空"
                if last < case.last_seq else f"历史有第 {last} 条，办件只记录到第 {case.last_seq} 条")
        return Finding(case.number, last + 1 if last < case.last_seq else last, what), len(entries)
    if entries and case.history_head != previous:
        return Finding(case.number, last, "最后一条记录的哈希值与办件上保存的链头不符"), len(entries)
    return None, len(entries)


#: the triggers that keep case_history append-only (migrations 0001 and 0005)
GUARDS = {"sqlite": ("case_history_no_update", "case_history_no_delete"),
          "postgresql": ("case_history_append_only", "case_history_no_truncate")}


def missing_guards(session: Session) -> list[str]:
    """The append-only triggers that are gone: someone with database access dropped them."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        present = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    else:
        present = set(session.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    return [name for name in GUARDS.get(dialect, ()) if name not in present]


def verify(session: Session, number: str | None = None, kept: dict[str, Any] | None = None) -> AuditReport:
    """Check the chain of one case, or of every case in number order. ``kept``: heads saved earlier
    (the ``heads`` of an earlier report, kept outside the database); the entry at each kept seq must
    still have the kept hash, which finds a chain rewritten consistently from that point back."""
    query = select(Case).order_by(Case.number)
    if number is not None:
        query = query.where(Case.number == number)
    report = AuditReport(missing_guards=missing_guards(session))
    for case in session.scalars(query):
        finding, count = verify_case(session, case)
        report.cases += 1
        report.entries += count
        report.heads[case.number] = {"seq": case.last_seq, "hash": case.history_head}
        if finding is None and kept and case.number in kept:
            finding = _against_kept(session, case, kept[case.number])
        if finding is not None:
            report.findings.append(finding)
    if kept and number is None:
        for gone in sorted(set(kept) - set(report.heads)):
            report.findings.append(Finding(gone, None, "办件在保存的链头中，数据库中却没有：办件被删除"))
    return report


def _against_kept(session: Session, case: Case, head: Any) -> Finding | None:
    if not isinstance(head, dict) or not isinstance(head.get("seq"), int) or not isinstance(head.get("hash"), str):
        return Finding(case.number, None, "保存的链头格式不对（应为 {\"seq\": 序号, \"hash\": 哈希值}）")
    if head["seq"] < 1:
        return None
    stored = session.scalar(select(HistoryEntry.hash).where(HistoryEntry.case_id == case.id,
                                                            HistoryEntry.seq == head["seq"]))
    if stored != head["hash"]:
        return Finding(case.number, head["seq"], "与保存在数据库之外的链头不符：这条及之前的记录被整体改写")
    return None
