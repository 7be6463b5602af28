"""Local fake cloud endpoints (Azure Resource Graph, GCP Cloud Asset Inventory) answering in the
documented response shapes: the real SDK clients talk to them in the demo, the benches and tests."""
