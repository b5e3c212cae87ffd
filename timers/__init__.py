"""Deadline timers: rows in an indexed table, swept by one APScheduler job that
fires what is due through the engine's command path (see issue: time limits)."""
