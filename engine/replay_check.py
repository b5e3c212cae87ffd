"""回放测试 in the browser: a tester (a designer or an administrator) replays an item's recorded
histories — running and concluded — against one of its deployed versions or waiting drafts, or one
exported history file against the version it ran on, and reads where each diverges.

The same ``Replayer`` as ``approvals replay``; in the page's own process, so a page replays at most
``MAX_WEB_CASES`` (the newest); ``approvals replay --item`` replays them all on every core.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from engine.actors import Actor
from engine.errors import BadInput, NotAllowed, NotFound
from engine.replay import Replayer, ReplayResult, export_case, load_history
from engine.runtime.definitions import parse_definition
from engine.store.db import Database
from engine.store.models import Case, ProcessDraft, ProcessVersion
from engine.versions import current_version, item_by_code, version_by_number

#: the newest cases a page replays (each takes a few tens of milliseconds)
MAX_WEB_CASES = 100
#: an uploaded history file
MAX_HISTORY_BYTES = 5 * 1024 * 1024


def require_tester(actor: Actor) -> None:
    if not (actor.has_role("designer") or actor.has_role("admin")):
        raise NotAllowed("只有设计员或管理员可以回放测试")


@dataclass
class Row:
    case: str
    state: str
    outcome: str  # same, diverged, failed
    commands: int = 0
    divergence: dict[str, Any] | None = None
    error: str = ""


@dataclass
class ReplayCheck:
    item: str
    item_name: str
    target: str  # v3 / d7
    target_label: str
    total: int  # the item's recorded cases
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for r in self.rows if r.outcome == k) for k in ("same", "diverged", "failed")}


def targets(session, item_code: str) -> dict[str, Any]:
    """What an item's histories can be replayed against: its versions (newest first; the current
    one marked) and its drafts waiting to be deployed."""
    item = item_by_code(session, item_code)
    versions = list(session.scalars(select(ProcessVersion).where(ProcessVersion.item_id == item.id)
                                    .order_by(ProcessVersion.version.desc())))
    deployed = {v.content_hash for v in versions}
    drafts = [d for d in session.scalars(select(ProcessDraft).where(ProcessDraft.item_id == item.id)
                                         .order_by(ProcessDraft.id.desc()).limit(20))
              if d.content_hash not in deployed]
    now = current_version(session, item)
    current = now.version if now is not None else None
    options = [{"value": f"v{v.version}", "label": f"第 {v.version} 版" + ("（当前版本）" if v.version == current else "")}
               for v in versions]
    options += [{"value": f"d{d.id}", "label": f"草稿 {d.id}（未部署，{d.filename}）"} for d in drafts]
    cases = session.scalar(select(func.count(Case.id)).where(Case.item_id == item.id))
    return {"code": item.code, "name": item.name, "options": options, "cases": cases}


def _candidate(session, item, target: str) -> tuple[str, bytes, str]:
    kind, number = target[:1], target[1:]
    if kind not in ("v", "d") or not number.isdigit():
        raise BadInput("请选择回放所对照的流程版本或草稿")
    if kind == "v":
        version = version_by_number(session, item, int(number))
        xml = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.id == version.id))
        return f"第 {version.version} 版", xml.encode("utf-8"), version.filename
    draft = session.get(ProcessDraft, int(number))
    if draft is None or draft.item_id != item.id:
        raise NotFound(f"“{item.name}”没有草稿 {number}")
    return f"草稿 {draft.id}（未部署）", draft.bpmn_xml.encode("utf-8"), draft.filename


def replay_item_cases(db: Database, actor: Actor, item_code: str, target: str, *, case: str = "",
                      limit: int = MAX_WEB_CASES) -> ReplayCheck:
    """The item's newest ``limit`` cases (or the one ``case``) replayed against ``target``."""
    require_tester(actor)
    case = case.strip()
    with db.reader() as session:
        item = item_by_code(session, item_code)
        label, bpmn, filename = _candidate(session, item, target)
        parse_definition(bpmn, filename)  # a draft that does not parse is said once, before any case
        total = session.scalar(select(func.count(Case.id)).where(Case.item_id == item.id))
        query = select(Case.number, Case.state).where(Case.item_id == item.id)
        if case:
            query = query.where(Case.number == case)
        picked = session.execute(query.order_by(Case.id.desc()).limit(limit)).all()
        if case and not picked:
            raise NotFound(f"“{item.name}”没有办件 {case}")
        report = ReplayCheck(item.code, item.name, target, label, total)
    started = time.perf_counter()
    replayer, cache = Replayer(), {}
    try:
        for number, state in picked:
            with db.reader() as session:
                history = export_case(session, session.scalar(select(Case).where(Case.number == number)), cache=cache)
            report.rows.append(_row(number, state, replayer, history, bpmn, filename))
    finally:
        replayer.close()
    report.seconds = time.perf_counter() - started
    # what needs reading first: the diverging and failing cases
    report.rows.sort(key=lambda r: ({"diverged": 0, "failed": 1, "same": 2}[r.outcome], r.case))
    return report


def _row(number: str, state: str, replayer: Replayer, history: dict, bpmn: bytes | None, filename: str | None) -> Row:
    try:
        result: ReplayResult = replayer.replay(history, bpmn, filename)
    except Exception as exc:  # one broken case must not hide the others  # noqa: BLE001
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return Row(number, state, "failed", len(history.get("commands") or []), error=message)
    if result.same:
        return Row(number, state, "same", result.commands)
    return Row(number, state, "diverged", result.commands, divergence=result.divergence.to_dict())


def replay_file(actor: Actor, content: bytes) -> Row:
    """An exported history (``approvals case export``) replayed against the version it ran on."""
    require_tester(actor)
    if not content:
        raise BadInput("请选择要回放的办件历史文件（.json）")
    if len(content) > MAX_HISTORY_BYTES:
        raise BadInput(f"历史文件过大（上限 {MAX_HISTORY_BYTES // 1024 // 1024} MB）")
    history = load_history(content)
    replayer = Replayer()
    try:
        return _row(str(history["case"].get("number", "")), str(history["case"].get("state", "")), replayer,
                    history, None, None)
    finally:
        replayer.close()
