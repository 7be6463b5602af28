"""Scan reports: a finished scan as JSON, CSV, OCSF 1.1 Compliance Findings or a printable HTML
page, loaded once (base) and streamed by the format's renderer (service)."""
