"""Designers' drafts: diagrams drawn or uploaded in the modeler, validated and kept, not deployed.

A draft is not case state, so saving one is not a command; it is still recorded (who saved what
and when: every save is a new ``ProcessDraft`` row). Only designers open, validate and save
drafts; deploying one is the administrator's (``engine/deploy.py``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.clock import CHINA_TZ
from engine.errors import BadInput, NotAllowed, NotFound
from engine.roles import ROLES
from engine.runtime.definitions import MAX_BPMN_BYTES, content_hash, parse_xml
from engine.runtime.lint import LintReport, lint, quick_fix
from engine.runtime.values import check_text
from engine.store.models import Item, ProcessDraft, ProcessVersion, User
from engine.timelimits.policy import policy_from_json
from engine.versions import current_version

DESIGNER = "designer"
#: what a saved draft waits for, on every page that lists it
DRAFT_STATE = "待管理员部署"

#: a new diagram: a start event, one step and an end event, with their drawing
NEW_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_new" targetNamespace="http://approvals.example/bpmn">
  <bpmn:process id="new_process" name="新流程" isExecutable="true">
    <bpmn:startEvent id="start" name="申请提交"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="accept_application" name="受理" camunda:candidateGroups="window_clerk">
      <bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="办结"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="accept_application" />
    <bpmn:sequenceFlow id="f_end" sourceRef="accept_application" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="new_process">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="accept_application_di" bpmnElement="accept_application"><dc:Bounds x="250" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="412" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f_start_di" bpmnElement="f_start"><di:waypoint x="188" y="120" /><di:waypoint x="250" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f_end_di" bpmnElement="f_end"><di:waypoint x="350" y="120" /><di:waypoint x="412" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def require_designer(actor: Actor) -> None:
    if not actor.has_role(DESIGNER):
        raise NotAllowed("只有设计员可以打开、校验和保存流程图")


def designer_roles() -> list[dict]:
    """The roles a step can be handled by, for the modeler's role list."""
    return [{"code": r.code, "name": r.name} for r in ROLES if r.code not in ("admin", "designer")]


def _item(session: Session, code: str) -> Item:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise NotFound(f"审批事项 {code} 不存在")
    return item


def _draft_dict(draft: ProcessDraft, names: dict[str, str]) -> dict:
    return {"id": draft.id, "title": draft.title, "filename": draft.filename,
            "saved_at": draft.saved_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            "saved_by": draft.saved_by, "saved_by_name": names.get(draft.saved_by, draft.saved_by),
            "errors": draft.errors, "warnings": draft.warnings,
            # a draft with errors waits for its designer, not for the administrator
            "state": "有错误，修正后才能部署" if draft.errors else DRAFT_STATE,
            "item": draft.item.code if draft.item else None, "item_name": draft.item.name if draft.item else None}


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
    return {u: d or u for u, d in rows}


def design_overview(session: Session, actor: Actor) -> dict:
    """What the designer's start page shows: every item with its current version and latest draft,
    and the latest drafts of new processes."""
    require_designer(actor)
    latest = dict(session.execute(select(ProcessDraft.item_id, func.max(ProcessDraft.id))
                                  .group_by(ProcessDraft.item_id)).all())
    drafts = {d.id: d for d in session.scalars(select(ProcessDraft).where(ProcessDraft.id.in_(latest.values())))}
    new_drafts = list(session.scalars(select(ProcessDraft).where(ProcessDraft.item_id.is_(None))
                                      .order_by(ProcessDraft.id.desc()).limit(10)))
    names = _display_names(session, {d.saved_by for d in [*drafts.values(), *new_drafts]})
    items = []
    for item in session.scalars(select(Item).order_by(Item.code)):
        version = current_version(session, item)
        draft = drafts.get(latest.get(item.id))
        items.append({"code": item.code, "name": item.name, "department": item.department.name,
                      "version": version.version if version else None,
                      "deployed_at": version.deployed_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d") if version else None,
                      "draft": _draft_dict(draft, names) if draft else None})
    return {"items": items, "new_drafts": [_draft_dict(d, names) for d in new_drafts], "roles": designer_roles()}


def item_drafts(session: Session, actor: Actor, item_code: str) -> dict:
    """Every draft saved for an item, newest first (the start page shows only the newest): each
    with who saved it and when, its problems, and the version it became if it was deployed."""
    require_designer(actor)
    item = session.scalar(select(Item).where(Item.code == item_code))
    if item is None:
        raise NotFound(f"审批事项 {item_code} 不存在")
    drafts = list(session.scalars(select(ProcessDraft).where(ProcessDraft.item_id == item.id)
                                  .order_by(ProcessDraft.id.desc()).limit(200)))
    deployed = dict(session.execute(select(ProcessVersion.content_hash, ProcessVersion.version)
                                    .where(ProcessVersion.item_id == item.id)).all())
    names = _display_names(session, {d.saved_by for d in drafts})
    rows = [{**_draft_dict(d, names), "deployed_as": deployed.get(d.content_hash)} for d in drafts]
    return {"code": item.code, "name": item.name, "drafts": rows}


def diagram_source(session: Session, actor: Actor, *, item_code: str | None = None,
                   draft_id: int | None = None) -> dict:
    """The XML the modeler opens: an item's current version, a draft, or a new diagram."""
    require_designer(actor)
    if draft_id is not None:
        draft = session.get(ProcessDraft, draft_id)
        if draft is None:
            raise NotFound(f"草稿 {draft_id} 不存在")
        names = _display_names(session, {draft.saved_by})
        return {"xml": draft.bpmn_xml, "item": draft.item.code if draft.item else None,
                "item_name": draft.item.name if draft.item else None, "title": draft.title,
                "filename": draft.filename, "based_on": draft.based_on_id, "draft": _draft_dict(draft, names),
                "source": f"草稿 {draft.id}"}
    if item_code is not None:
        item = _item(session, item_code)
        version = current_version(session, item)
        if version is None:
            raise NotFound(f"审批事项 {item_code} 还没有部署过流程图")
        return {"xml": version.bpmn_xml, "item": item.code, "item_name": item.name, "title": item.name,
                "filename": version.filename, "based_on": version.id, "draft": None,
                "source": f"当前版本 第 {version.version} 版"}
    return {"xml": NEW_DIAGRAM, "item": None, "item_name": None, "title": "新流程", "filename": "new_process.bpmn",
            "based_on": None, "draft": None, "source": "新建"}


def _text(xml: str | bytes) -> bytes:
    content = xml.encode("utf-8") if isinstance(xml, str) else xml
    if not content.strip():
        raise BadInput("流程图为空")
    if len(content) > MAX_BPMN_BYTES:
        raise BadInput(f"流程图过大（{len(content)} 字节，上限 {MAX_BPMN_BYTES}）")
    return content


def lint_for(session: Session, actor: Actor, xml: str | bytes, item_code: str | None,
             filename: str = "流程图.bpmn") -> LintReport:
    """Every problem of the diagram, against the item's time limits when it is for an item."""
    require_designer(actor)
    content = _text(xml)
    policy = policy_from_json(_item(session, item_code).time_policy) if item_code else None
    return lint(content, filename, policy)


def fix_for(session: Session, actor: Actor, xml: str | bytes, item_code: str | None) -> dict:
    """The mechanical fixes applied server-side, the new XML and what lint says of it."""
    require_designer(actor)
    fixed, done = quick_fix(_text(xml), "流程图.bpmn")
    report = lint_for(session, actor, fixed, item_code)
    return {"xml": fixed.decode("utf-8"), "done": done, **report.to_dict()}


def save_draft(session: Session, actor: Actor, xml: str | bytes, *, at: datetime, item_code: str | None = None,
               based_on: int | None = None, filename: str | None = None, title: str | None = None,
               from_draft: int | None = None) -> tuple[ProcessDraft, LintReport]:
    """Keep the diagram as a draft, whatever lint says (work in progress may have errors), as
    long as it is BPMN XML that the modeler can open again. ``from_draft``: the draft the
    modeler opened, whose name, file name and base version the new one keeps."""
    require_designer(actor)
    earlier = session.get(ProcessDraft, from_draft) if from_draft is not None else None
    if earlier is not None:
        title, filename = title or earlier.title, filename or earlier.filename
        based_on = based_on if based_on is not None else earlier.based_on_id
    content = _text(xml)
    item = _item(session, item_code) if item_code else None
    report = lint(content, filename or "流程图.bpmn",
                  policy_from_json(item.time_policy) if item is not None else None)
    if any(p.rule in ("xml", "not_bpmn") for p in report.problems):
        raise BadInput(f"不能保存：{report.problems[0].reason}")
    if based_on is not None and session.get(ProcessVersion, based_on) is None:
        based_on = None  # a version that is gone: the draft still stands on its own
    root = parse_xml(content, "draft")
    process = root.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
    title = title or (item.name if item else None) or (process.get("name") if process is not None else None) or "新流程"
    filename = filename or (f"{item.code}.bpmn" if item else "新流程.bpmn")
    check_text(title, "名称", 255)
    check_text(filename, "文件名", 255)
    draft = ProcessDraft(item=item, based_on_id=based_on, title=title[:255], filename=filename[:255],
                         bpmn_xml=content.decode("utf-8"), content_hash=content_hash(content),
                         errors=len(report.errors), warnings=len(report.warnings),
                         saved_by=actor.name, saved_at=at)
    session.add(draft)
    session.flush()
    return draft, report


def draft_preview(session: Session, actor: Actor, draft_id: int) -> dict:
    """A saved draft as the case pages will draw it, with what lint says of it now."""
    source = diagram_source(session, actor, draft_id=draft_id)
    item = _item(session, source["item"]) if source["item"] else None
    report = lint(source["xml"].encode("utf-8"), source["filename"],
                  policy_from_json(item.time_policy) if item is not None else None)
    return {**source, "report": report.to_dict()}
