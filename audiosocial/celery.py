import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audiosocial.settings")

app = Celery("audiosocial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="audiosocial.ping")
def ping() -> str:
    """A trivial task: proves the broker, a worker and the result backend are wired."""
    return "pong"
