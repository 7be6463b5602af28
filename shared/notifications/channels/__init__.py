"""Notification channel types: the base (base), one module per type, and all of them (types)."""
