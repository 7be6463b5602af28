"""The catalogue a tenant sees: built-in policies and frameworks plus its own, selection of what a
scan evaluates (service), and the tenant's own policies and frameworks (policies, frameworks)."""
