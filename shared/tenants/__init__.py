"""Tenants and their API keys (hashed; shown once)."""
