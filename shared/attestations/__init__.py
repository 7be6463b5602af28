"""Attestations: a person's signed-off word on a control no policy can evidence (or one that does not
apply), with its justification, evidence and expiry; kept append-only."""
