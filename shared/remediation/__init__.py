"""Opt-in automatic remediation: registered actions (base, aws, actions) and running them on a scan
(service)."""
