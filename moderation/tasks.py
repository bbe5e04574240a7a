"""Moderation's background work: tasks take ids and call services."""

from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task(name="moderation.expire_sanctions")
def expire_sanctions() -> int:
    """Celery beat, every minute: record the suspensions that ran out."""
    return services.sanctions_expire()


@shared_task(name="moderation.end_user_sessions")
def end_user_sessions(user_id: int) -> int:
    """After a suspension or ban: delete the member's sessions (cookies and headless tokens)."""
    return services.user_sessions_end(user_id=user_id)
