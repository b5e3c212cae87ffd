"""Errors the engine raises on purpose. Each carries a stable ``code`` for the
CLI's exit status and the JSON API, and a message for people (in Chinese, the
product's language)."""
from __future__ import annotations


class ApprovalError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


class BadInput(ApprovalError):
    """Input that cannot be used as given (malformed JSON, unknown field …)."""

    code = "bad_input"


class NotFound(ApprovalError):
    code = "not_found"


class NotAllowed(ApprovalError):
    """The actor may not do this (wrong role or department, not the assignee)."""

    code = "not_allowed"


class Conflict(ApprovalError):
    """Someone else changed the case first; reload and try again."""

    code = "conflict"


class Skipped(ApprovalError):
    """Nothing to do (a deadline already fired, or its case is busy); nothing was changed."""

    code = "skipped"


class TimeOrderError(ApprovalError):
    """A command dated before the case's last event, or ``--now`` outside simulation."""

    code = "time_order"


class BpmnError(ApprovalError):
    """A process definition that cannot be deployed, located as precisely as possible."""

    code = "invalid_bpmn"

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 element: str | None = None, tag: str | None = None):
        self.reason, self.file, self.line, self.element, self.tag = reason, file, line, element, tag
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.file or "<bpmn>"
        if self.line:
            where += f":{self.line}"
        parts = [where]
        if self.element:
            parts.append(f"元素 {self.element}" + (f"（{self.tag}）" if self.tag else ""))
        return "：".join([" ".join(parts), self.reason])

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message, "file": self.file,
                "line": self.line, "element": self.element, "reason": self.reason}
