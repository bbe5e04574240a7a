"""Audio's periodic backstop (Celery beat ``rooms.audio_reconcile``, every 15 s).

Janus's rooms, participants, tokens and mute flags are made to match the database; rooms missing
from Janus (restarted while no process watched) are recreated and their clients asked to
renegotiate. Enforcement itself happens at once through ``rooms.audio.hooks``: this only repairs
what a lost request or a crash left behind. Registered with Celery by ``rooms.tasks``.
"""

from __future__ import annotations

from celery import shared_task

from rooms.audio import bridge


@shared_task(name="rooms.audio_reconcile", ignore_result=True)
def audio_reconcile() -> dict[str, int]:
    return bridge.reconcile_all()
