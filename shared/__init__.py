"""The PolicyCortex domain: one package per concern a user talks about (scans, inventory, policies,
frameworks, schedules, notifications, remediation, reports, accounts, tenants) on a small platform
package. See "How it works" in the README for the map."""
