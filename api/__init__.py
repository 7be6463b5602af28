"""The Flask API: the app factory (app), one blueprint per resource, API-key auth, rate limits, the
error envelope, OpenAPI and the websocket stream."""
