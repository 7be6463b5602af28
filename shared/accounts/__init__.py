"""Cloud accounts: what scans target, with credentials encrypted at rest and never returned."""
