"""The inventory: collectors that list cloud resources, uploads of pushed inventories, and the
resources every scan saw."""
