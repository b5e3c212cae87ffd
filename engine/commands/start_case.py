from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..errors import BadInput, Conflict, NotFound
from engine.clock import CHINA_TZ
from engine.intake import check_registration
from engine.store.models import Case, Item, ProcessVersion
from ..numbering import case_number
from engine.runtime.spiff import new_workflow
from engine.runtime.values import check_data, check_text
from engine.authorization import CASE_STARTER
from engine.timelimits import planning
from engine.versions import current_version
from .base import Applied, Command, CommandContext, OpenCase


#: the applicant is stored as the case's applicant (255) and, as "applicant:NAME", as the actor of its
#: history entries (128 characters)
MAX_APPLICANT = 100


#: the item with its department (built once: building a statement costs more than running it)
#: shared lock on the item: an edit of its guide waits for the starts in flight (they store no copy
#: of the guide while it is unchanged: engine/deploy.py ``keep_started``)
_ITEM = (select(Item).where(Item.code == bindparam("code")).options(joinedload(Item.department))
         .with_for_update(read=True, of=Item))

@dataclass(frozen=True)
class StartCase(Command):
    """Open a case of an item on its current process version (engine/versions.py) (or a given one, for replay).

    ``key`` and ``number`` are normally minted here; a replay passes the recorded ones.
    """

    type = "start_case"
    label = "提交申请"
    policy = CASE_STARTER
    #: minted here (a replay passes the recorded ones): results, not inputs
    unrecorded = frozenset({"version", "key", "number"})
    item: str
    applicant: str
    data: dict[str, Any] = field(default_factory=dict)
    #: registered at the window (engine/intake.py): who applies, with identity number or credit code;
    #: None for an application in one's own name, known by the name only
    applicant_info: dict[str, Any] | None = None
    #: the item's application fields (the catalogue's ``application:``)
    application: dict[str, Any] = field(default_factory=dict)
    #: the applicant's online account (网上申请, engine/online.py): only the applicant themselves
    #: starts a case under it; recorded only when set
    account: int | None = None
    version: str | None = None
    key: str | None = None
    number: str | None = None

    def load(self, ctx: CommandContext) -> OpenCase:
        check_text(self.applicant, "申请人", MAX_APPLICANT)
        if not self.applicant.strip():
            raise BadInput("申请人不能为空")
        if self.account is not None and ctx.actor.kind != "applicant":
            raise BadInput("网上申请只能由申请人本人在网上办事大厅提交")
        # with its department, which the new case's first tasks (and the history's snapshot) name
        item = ctx.session.scalar(_ITEM, {"code": self.item})
        if item is None:
            raise NotFound(f"审批事项 {self.item} 不存在")
        if item.hold and not self.key:  # a replay re-runs what was started before the suspension
            raise Conflict(f"审批事项“{item.name}”已暂停受理（{item.hold.get('reason', '')}），暂不能登记或申请")
        version = (ctx.session.scalar(select(ProcessVersion).where(ProcessVersion.item_id == item.id,
                                                                   ProcessVersion.content_hash == self.version))
                   if self.version else current_version(ctx.session, item))  # engine/versions.py
        if version is None:
            raise NotFound(f"审批事项 {self.item} 还没有部署流程" if not self.version
                           else f"审批事项 {self.item} 没有版本 {self.version}")
        definition = ctx.engine.definition(ctx.session, version)
        applicant_info, application = self._registration(item, ctx.at)
        row = Case(number=self.number or case_number(ctx.session, item.code, ctx.at, item.numbering),
                   key=self.key or ctx.new_key(), item=item, process_version=version,
                   applicant=self.applicant.strip(), state="running", started_at=ctx.at,
                   last_event_at=ctx.at, last_seq=0, workflow_state="",
                   # NULL (these columns store None as SQL NULL, models.JSONOrNull): the item's time
                   # policy and guide, unchanged since (``Case.started_policy``, ``Case.started_guide``;
                   # engine/deploy.py ``keep_started``), and an application known by name only
                   time_policy=None, guide=None, applicant_info=applicant_info, application=application,
                   account_id=self.account, query_code=f"{secrets.randbelow(10 ** 6):06d}")
        ctx.session.add(row)
        ctx.session.flush()
        return OpenCase(ctx, row, definition)

    def _registration(self, item: Item, at) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The applicant and application fields, checked in full when given (a window
        registration always gives them); an application known by the applicant's name only
        (online in one's own name, a 首问 request, a script) carries neither."""
        if self.applicant_info is None and not self.application:
            return None, None
        fields = (item.guide or {}).get("application", [])
        info, application = check_registration(self.applicant_info if self.applicant_info is not None
                                               else {"kind": None}, fields, self.application,
                                               at.astimezone(CHINA_TZ).date())
        if info.get("name") != self.applicant.strip():
            raise BadInput("申请人名称与申请人信息中的名称不一致")
        return info, application

    def apply(self, ctx: CommandContext, case: OpenCase) -> Applied:
        data = check_data(self.data)
        # data given at start flows to every later task
        workflow = new_workflow(case.definition.spec, case.definition.subprocess_specs,
                                ctx.engine.script_engine, data)
        case.attach(workflow)
        case.advance()
        planning.start_case(case.timekeeper)
        row = case.row
        # The time policy the case started with is the item's (or on the case row once the item's
        # changed) and in every export's item, not repeated in the history: 0.45 KB a case
        # (docs/performance.md). A policy changed afterwards is still found: replaying the history
        # under it (``approvals check``) recomputes every deadline the entries observed, and the
        # hash chain covers those. The key and number are on the case row and in every export's
        # ``case``, and the version the case started on is the one it is on until a migration,
        # whose result names the version it left: the history keeps none of them
        # (``projection.full_result`` gives them back to every reader).
        return Applied(row, {"data": data})

    def recorded_inputs(self, case: OpenCase) -> dict[str, Any]:
        """An application known by name only is recorded as before registrations existed."""
        inputs = super().recorded_inputs(case)
        if self.applicant_info is None and not self.application:
            del inputs["applicant_info"], inputs["application"]
        if self.account is None:
            del inputs["account"]
        return inputs

    @classmethod
    def from_record(cls, inputs: dict[str, Any], result: dict[str, Any], *, version: str | None = None) -> "StartCase":
        """The same case again: its recorded key and number, on the version being replayed."""
        command = super().from_record(inputs, result)
        return cls(item=command.item, applicant=command.applicant, data=command.data,
                   applicant_info=command.applicant_info, application=command.application,
                   account=command.account, version=version or result.get("version"), key=result["key"], number=result["number"])
