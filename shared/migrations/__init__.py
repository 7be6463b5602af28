"""Alembic migrations of the PolicyCortex schema (versions/), the whole schema they compare against
(schema), and the commands that run them (commands: `policycortex db upgrade`)."""
