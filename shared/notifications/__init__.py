"""Notifications: channel types (one module each), channel management, messages and delivery."""
