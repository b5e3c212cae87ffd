"""The approval engine: BPMN definitions, cases, commands and their history."""
from .actors import Actor
from .clock import CHINA_TZ, FixedClock, SystemClock
from engine.store.db import Database
from .errors import (ApprovalError, BadInput, BpmnError, Conflict, NotAllowed, NotFound,
                     TimeOrderError)
from .executor import Engine

__all__ = ["Actor", "CHINA_TZ", "FixedClock", "SystemClock", "Database", "Engine", "ApprovalError",
           "BadInput", "BpmnError", "Conflict", "NotAllowed", "NotFound", "TimeOrderError"]
