"""Deadlines are rows; one sweep fires what is due through the engine's command path."""
from .sweep import SweepReport, sweep

__all__ = ["SweepReport", "sweep"]
