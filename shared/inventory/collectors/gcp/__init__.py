"""The GCP collector (Cloud Asset Inventory): the declaration language and shaping helpers
(declare), one module of resource types per Google Cloud service, all of them (services), and the
engine that lists them and shapes uploaded exports (engine)."""
