"""A typed Python client of the PolicyCortex REST API and scan stream.

    from policycortex_client.client import Client
    from policycortex_client.errors import NotFound, PolicyCortexError

Modules: `client` (Client and its resource groups), `errors` (the error envelope as exceptions),
`types` (the answers' shapes), `operations` (every call's method, path and query parameters,
checked against GET /v1/openapi.json), `stream` (the scan stream), `pagination` (iterators)."""
