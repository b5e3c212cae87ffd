"""The standard roles of a service centre. A BPMN lane name or a Camunda
``candidateGroups`` entry may use either the code or the Chinese name."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    description: str


ROLES: tuple[Role, ...] = (
    Role("window_clerk", "窗口受理员", "在窗口接件、受理、一次性告知、送达"),
    Role("reviewer", "审查员", "审查材料、现场核查、提出审查意见"),
    Role("head", "负责人", "作出决定、审批延期"),
    Role("gov_head", "本级人民政府负责人", "批准联办件的延期（行政许可法第四十二条）"),
    Role("supervisor", "监察员", "电子监察、催办、效能告诫"),
    Role("admin", "管理员", "部署流程、管理用户和日历"),
    Role("designer", "设计员", "设计和校验流程"),
)

_BY_KEY = {r.code: r for r in ROLES} | {r.name: r for r in ROLES}


def resolve_role(text: str) -> Role | None:
    """The role a lane name or candidate group means, or None."""
    return _BY_KEY.get(text.strip())


def role_name(code: str) -> str:
    role = _BY_KEY.get(code)
    return role.name if role else code
