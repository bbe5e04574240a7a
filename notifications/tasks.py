"""Celery tasks: take ids, load fresh rows (in the services), idempotent by unique keys.

A database hiccup retries the whole task; rows already written are skipped by their dedupe key,
so a retry only finishes what the first attempt started.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from notifications import services

RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(name="notifications.room_live_fan_out", **RETRY)
def room_live_fan_out_task(room_id: str) -> int:
    return services.room_live_fan_out(room_id=room_id)


@shared_task(name="notifications.send_reminders", **RETRY)
def send_reminders() -> int:
    return services.reminders_send()


@shared_task(name="notifications.followed", **RETRY)
def notify_followed_task(follower_id: int, followee_id: int) -> int:
    return services.followed_notify(follower_id=follower_id, followee_id=followee_id)


@shared_task(name="notifications.speaker_invited", **RETRY)
def notify_speaker_invited_task(room_id: str, user_id: int, by_id: int, event_id: str) -> int:
    return services.speaker_invited_notify(
        room_id=room_id, user_id=user_id, by_id=by_id, event_id=event_id
    )


@shared_task(name="notifications.pinged", **RETRY)
def notify_pinged_task(room_id: str, user_id: int, by_id: int, event_id: str) -> int:
    return services.pinged_notify(room_id=room_id, user_id=user_id, by_id=by_id, event_id=event_id)


@shared_task(name="notifications.invitation_accepted", **RETRY)
def notify_invitation_accepted_task(inviter_id: int, new_member_id: int) -> int:
    return services.invitation_accepted_notify(inviter_id=inviter_id, new_member_id=new_member_id)


@shared_task(name="notifications.report_resolved", **RETRY)
def notify_report_resolved_task(report_id: int) -> int:
    return services.report_resolved_notify(report_id=report_id)
