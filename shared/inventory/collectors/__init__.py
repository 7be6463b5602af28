"""Cloud collectors: one per provider, resource types declared as data, one engine each for paging,
regions and retries (base); every provider registered (providers)."""
