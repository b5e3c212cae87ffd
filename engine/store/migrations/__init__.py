"""Alembic migrations of the application's schema (see docs/architecture.md, "Schema changes").

A package so that the scripts ship in the wheel; ``engine.store.migrate`` runs them.
"""
