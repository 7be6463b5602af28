"""The platform every domain package stands on: settings, database, crypto, errors, logging,
metrics, the outbound guard, registries and request-schema helpers. It imports no domain package."""
