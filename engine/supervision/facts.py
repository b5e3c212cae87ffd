"""What a case's history says about its time and its outcome: the facts statistics, findings and
scores are computed from.

Only the history is read (``case_history``: command, actor, time, result and the observed case
state after each entry), so figures can be recomputed for any past period and agree with a replay.

Time used is counted in working days on the engine's calendar, like the limits: from the day the
application came in (收件, not itself counted) to the day the case concluded, less the working days
the case stood paused — waiting for a supplement (待补正, from the one-time notice to the materials'
arrival) or in a 特别程序 (听证、检验… from its start to its resumption). An extension (延期) does not
change time used; it raises the limit the case is judged against.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from engine.clock import CHINA_TZ, china_date
from engine.timelimits.workdays import WorkCalendar

#: commands that end a case's acceptance as accepted/refused are recognised by the observed state
REFUSED_ACCEPTANCE = "refused"
DENIED = "deny"


@dataclass
class CaseFacts:
    case_id: int
    number: str
    item_id: int
    department_id: int
    applicant: str
    started_at: datetime
    promised_days: int | None
    statutory_days: int | None
    concluded_at: datetime | None = None
    concluded_seq: int | None = None
    #: the clerk who took the application in (the actor of the first entry that set its acceptance)
    clerk: str | None = None
    clerk_seq: int | None = None
    pauses: list[dict[str, Any]] = field(default_factory=list)  # {"kind", "from", "to", "seqs"}
    paused_days: int = 0
    used_days: int | None = None
    extension_days: int = 0
    extension_seqs: list[int] = field(default_factory=list)
    red_seq: int | None = None
    red_clock: str = ""  # the key of the clock whose deadline turned the card red (decision, step.…)
    yellow_seq: int | None = None
    deemed_seq: int | None = None
    deemed_kind: str | None = None  # acceptance | approval
    refusal_seq: int | None = None
    refusal_kind: str | None = None  # acceptance | decision
    returns: list[int] = field(default_factory=list)
    supplements: list[int] = field(default_factory=list)
    urges: list[int] = field(default_factory=list)
    #: 好差评: the applicant's rating (1 … 5) and its entry
    rating: int | None = None
    rating_seq: int | None = None
    rated_at: datetime | None = None

    @property
    def concluded(self) -> bool:
        return self.concluded_at is not None

    @property
    def limit_days(self) -> int | None:
        """The promised limit plus any extension: what the case is judged against."""
        return None if self.promised_days is None else self.promised_days + self.extension_days

    @property
    def on_time(self) -> bool | None:
        if self.used_days is None or self.limit_days is None:
            return None
        return self.used_days <= self.limit_days and self.red_seq is None

    @property
    def not_accepted(self) -> bool:
        """Ended by 不予受理: the application was never accepted, so it is no 办结 (no decision on it)."""
        return self.concluded_at is not None and self.refusal_kind == "acceptance"

    @property
    def decided(self) -> bool:
        """办结: an accepted application concluded with a decision (准予, 不予许可, deemed)."""
        return self.concluded_at is not None and not self.not_accepted

    @property
    def instant(self) -> bool:
        """即办件: an item whose promised limit is 0 working days (当场办结)."""
        return self.promised_days == 0

    @property
    def on_the_spot(self) -> bool:
        """现场办结: decided on the (China) day the application came in, whatever the item's kind."""
        return self.decided and china_date(self.concluded_at) == china_date(self.started_at)

    @property
    def late_days(self) -> int:
        if self.used_days is None or self.limit_days is None:
            return 0
        return max(0, self.used_days - self.limit_days)


def _case_state(e: Any) -> dict[str, Any]:
    """The case's observed state after an entry (acceptance, decision, card, suspended): a row read
    with only that part of ``observed`` (``observed_case``, as statistics read it), or a whole entry."""
    if hasattr(e, "observed_case"):
        return e.observed_case or {}
    return ((e.observed or {}).get("case") or {})


def _paused(case: dict[str, Any]) -> str | None:
    if case.get("acceptance") == "supplement":
        return "supplement"
    if case.get("suspended"):
        return "suspension"
    return None


def case_facts(case_id: int, number: str, item_id: int, department_id: int, applicant: str,
               time_policy: dict[str, Any] | None, entries: Iterable[Any], calendar: WorkCalendar,
               *, until: datetime | None = None) -> CaseFacts:
    """Walk the case's history entries (in seq order: objects or rows with ``seq``, ``command``,
    ``actor``, ``at``, ``payload`` (only ``days`` and a rating's ``score`` are read), ``case_state``, and ``observed`` or just
    its ``case`` part as ``observed_case``) up to ``until``."""
    policy = time_policy or {}
    facts: CaseFacts | None = None
    paused: dict[str, Any] | None = None
    before: dict[str, Any] = {}
    for e in entries:
        if until is not None and e.at > until:
            break
        if facts is None:
            facts = CaseFacts(case_id, number, item_id, department_id, applicant, e.at,
                              policy.get("promised_days"), policy.get("statutory_days"))
        case = _case_state(e)
        result = e.payload or {}
        if e.command == "extend_deadline" or (e.command == "decide_extension" and result.get("days")):
            facts.extension_days += int(result.get("days") or 0)
            facts.extension_seqs.append(e.seq)
        elif e.command == "return_task":
            facts.returns.append(e.seq)
        elif e.command == "request_supplement":
            facts.supplements.append(e.seq)
        elif e.command == "urge_task":
            facts.urges.append(e.seq)
        elif e.command == "rate_service" and result.get("score") is not None:
            facts.rating, facts.rating_seq, facts.rated_at = int(result["score"]), e.seq, e.at
        if case.get("acceptance") != before.get("acceptance"):
            if facts.clerk is None and not e.actor.startswith(("system:", "applicant:")) and case.get("acceptance"):
                facts.clerk, facts.clerk_seq = e.actor, e.seq
            if case.get("acceptance") == "deemed":
                facts.deemed_seq, facts.deemed_kind = e.seq, "acceptance"
            if case.get("acceptance") == REFUSED_ACCEPTANCE:
                facts.refusal_seq, facts.refusal_kind = e.seq, "acceptance"
        if case.get("decision") != before.get("decision"):
            if case.get("decision") == "deemed_grant":
                facts.deemed_seq, facts.deemed_kind = e.seq, "approval"
            if case.get("decision") == DENIED:
                facts.refusal_seq, facts.refusal_kind = e.seq, "decision"
        if case.get("card") == "red" and facts.red_seq is None:
            facts.red_seq = e.seq
            facts.red_clock = (e.payload or {}).get("clock", "") if e.command == "fire_deadline" else ""
        if case.get("card") == "yellow" and facts.yellow_seq is None:
            facts.yellow_seq = e.seq
        now_paused = _paused(case)
        if paused is not None and now_paused != paused["kind"]:
            paused["to"], paused["seqs"] = china_date(e.at), [*paused["seqs"], e.seq]
            facts.pauses.append(paused)
            paused = None
        if now_paused is not None and paused is None:
            paused = {"kind": now_paused, "from": china_date(e.at), "to": None, "seqs": [e.seq]}
        if e.case_state == "concluded" and facts.concluded_at is None:
            facts.concluded_at, facts.concluded_seq = e.at, e.seq
        before = case
    if facts is None:
        raise ValueError(f"case {number} has no history")
    if paused is not None:  # still paused: up to the end of the period looked at
        facts.pauses.append(paused)
    end = facts.concluded_at or until
    if end is not None:
        end_day = china_date(end)
        facts.paused_days = sum(calendar.between(p["from"], min(p["to"] or end_day, end_day)).value
                                for p in facts.pauses)
        facts.used_days = max(0, calendar.between(china_date(facts.started_at), end_day).value - facts.paused_days)
    return facts


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """China-time bounds of the days ``start`` … ``end`` inclusive, as aware datetimes."""
    return (datetime.combine(start, time(0), CHINA_TZ), datetime.combine(end + timedelta(days=1), time(0), CHINA_TZ))
