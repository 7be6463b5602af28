"""Compliance frameworks as data (controls and their policies), tenants' own frameworks, and the
catalogue of policies and frameworks a tenant sees."""
