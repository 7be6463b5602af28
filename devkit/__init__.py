"""Developer tooling that is not the service: the demo, the local dev stack, synthetic estates and
the local Azure and GCP fakes."""
