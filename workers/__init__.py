"""Celery app and tasks: plan, shard, finalize (and the workloads that follow)."""
