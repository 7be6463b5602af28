"""The operator command line (`policycortex`): database, tenants and keys directly; what a tenant owns
through the REST API with its key."""
