"""The reliability settings DESIGN.md asks for are really in the Celery app's configuration."""

from workers.celery_app import QUEUES, create_celery


def test_reliability_settings(settings):
    conf = create_celery(settings).conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.result_backend_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.worker_send_task_events and conf.task_send_sent_event
    assert conf.beat_scheduler == "beat.scheduler:Scheduler"


def test_tasks_have_stable_names_and_queues(settings):
    app = create_celery(settings)
    app.loader.import_default_modules()
    assert {"scan-plan", "scan-shard", "scan-finalize"} <= set(app.tasks)
    assert app.amqp.router.route({}, "scan-shard")["queue"].name == "shards"
    assert app.amqp.router.route({}, "scan-plan")["queue"].name == "scans"
    assert app.amqp.router.route({}, "notification-deliver")["queue"].name == "notifications"
    assert app.amqp.router.route({}, "schedules-reconcile")["queue"].name == "housekeeping"
    assert set(QUEUES) == {q.name for q in app.conf.task_queues}
