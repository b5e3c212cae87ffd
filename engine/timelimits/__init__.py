"""Time limits: the working-day calendar, time policies, clocks and deadlines, cards,
escalation and deemed decisions."""
