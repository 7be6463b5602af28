"""Policies as data: the condition language, the policy schema, the built-in library and tenants' own
policies."""
