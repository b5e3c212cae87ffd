"""Slowing down password guessing: failed logins are counted per account and per address.

An account gets ``ACCOUNT_FREE`` wrong passwords, an address (a whole service centre may sit
behind one) ``ADDRESS_FREE``; after that each further failure blocks further attempts for a
time that doubles from ``FIRST_BLOCK`` up to ``LONGEST_BLOCK``. While blocked, an attempt is
refused without looking at the password, and does not count. A successful login clears its
account's count; counts are forgotten ``FORGET_AFTER`` the last failure. Nobody is ever locked
out for longer than ``LONGEST_BLOCK``.

Time is an input (the caller's clock), so tests move it instead of sleeping.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.store.models import LoginFailure

ACCOUNT_FREE = 5
ADDRESS_FREE = 20
FIRST_BLOCK = timedelta(seconds=10)
LONGEST_BLOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)


def _keys(username: str, address: str | None) -> dict[str, int]:
    """The counted keys of an attempt and how many failures each gets for free."""
    # a name no account can have (a NUL, say) is counted against the address only
    keys = {"user:" + username[:150]: ACCOUNT_FREE} if username and "\x00" not in username else {}
    if address:
        keys["addr:" + address[:150]] = ADDRESS_FREE
    return keys


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def retry_after(session: Session, username: str, address: str | None, now: datetime) -> int:
    """Seconds until this account may be tried again from this address; 0 if it may now."""
    rows = session.scalars(select(LoginFailure).where(LoginFailure.key.in_(list(_keys(username, address)))))
    waits = [row.blocked_until - now for row in rows if row.blocked_until is not None and row.blocked_until > now]
    return _seconds(max(waits)) if waits else 0


def record_failure(session: Session, username: str, address: str | None, now: datetime) -> int:
    """Count a wrong password; returns the seconds until the next attempt is allowed (0: at once)."""
    session.execute(delete(LoginFailure).where(LoginFailure.last_failure_at < now - FORGET_AFTER))
    wait = timedelta(0)
    for key, free in _keys(username, address).items():
        row = session.get(LoginFailure, key, with_for_update=True)
        if row is None:
            row = LoginFailure(key=key, failures=0, last_failure_at=now)
            session.add(row)
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= free:
            block = min(LONGEST_BLOCK, FIRST_BLOCK * 2 ** (row.failures - free))
            row.blocked_until = now + block
            wait = max(wait, block)
    return _seconds(wait) if wait else 0


def record_success(session: Session, username: str) -> None:
    """The account's own count starts again; its address's does not (others share it)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == "user:" + username[:150]))
