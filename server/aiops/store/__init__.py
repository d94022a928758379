"""Persistence: SQLAlchemy models, repositories and migrations (SQLite by default, PostgreSQL)."""
