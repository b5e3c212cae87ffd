"""Who executes a command. Every history entry names its actor."""
from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """Someone away whose tasks this actor handles as their named backup (AB岗)."""

    name: str
    user_id: int
    department_id: int
    roles: frozenset[str]
    display_name: str = ""


@dataclass(frozen=True)
class Actor:
    """A person (``user_id`` set) or a non-person party: the timer sweep, an applicant."""

    name: str
    user_id: int | None = None
    display_name: str = ""
    department_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    kind: str = "user"  # user | applicant | system
    principals: tuple[Principal, ...] = ()
    #: an applicant signed in to the online hall (网上办事): their account (engine/applicants.py)
    account_id: int | None = None

    @classmethod
    def system(cls, name: str = SYSTEM) -> "Actor":
        return cls(name=f"system:{name}" if name != SYSTEM else SYSTEM, display_name="系统", kind="system")

    @classmethod
    def applicant(cls, name: str, account_id: int | None = None) -> "Actor":
        return cls(name=f"applicant:{name}", display_name=name, kind="applicant", account_id=account_id)

    @classmethod
    def from_user(cls, user, principals=()) -> "Actor":
        """``principals``: the away users who name ``user`` as their backup."""
        return cls(name=user.username, user_id=user.id, display_name=user.display_name,
                   department_id=user.department_id, roles=frozenset(user.role_codes),
                   principals=tuple(Principal(p.username, p.id, p.department_id, frozenset(p.role_codes),
                                              p.display_name) for p in principals))

    def has_role(self, role: str) -> bool:
        return role in self.roles
