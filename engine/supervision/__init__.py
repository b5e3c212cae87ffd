"""Supervision (电子监察) and performance (绩效考核): the board of carded cases, findings detected
from case histories, 效能告诫, statistics computed from histories, assessment scores.

Read-side modules compute from the database; every state change (detecting findings, acting on
them, issuing warnings) is a command in ``engine/commands/supervision.py``."""
