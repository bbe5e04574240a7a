"""Sockets opening while their room's admission is running join the next batch: one
transaction for all of them (``rooms.consumers``), each with its own answer."""

from __future__ import annotations

import asyncio
import threading

import pytest

from audiosocial.errors import Conflict
from rooms import consumers

# No query of its own, but the admission threads may hold connections from earlier tests, which
# ``database_sync_to_async`` checks on every call.
pytestmark = pytest.mark.django_db


class _User:
    def __init__(self, pk: int) -> None:
        self.pk = pk


async def test_arrivals_during_an_admission_are_admitted_together(monkeypatch):
    batches: list[list[int]] = []
    first_running = threading.Event()
    release = threading.Event()

    def admit_batch(room_id, entries):
        batches.append([user.pk for user, _ in entries])
        if len(batches) == 1:
            first_running.set()
            release.wait(5)
        # Each member gets their own answer: odd ids are refused.
        return [
            Conflict("This room is full.", code="room_full") if user.pk % 2 else (room_id, "x", {})
            for user, _ in entries
        ]

    monkeypatch.setattr(consumers, "_admit_batch", admit_batch)
    monkeypatch.setattr(consumers, "_explain_conflict", lambda room_id, user: None)
    room_id = "7b4f7a4e-0000-4000-8000-000000000001"
    first = asyncio.create_task(consumers._admit(room_id, _User(0), "c0"))
    await asyncio.get_running_loop().run_in_executor(None, first_running.wait, 5)
    others = [
        asyncio.create_task(consumers._admit(room_id, _User(pk), f"c{pk}")) for pk in range(1, 8)
    ]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(first, *others, return_exceptions=True)

    assert batches == [[0], [1, 2, 3, 4, 5, 6, 7]]
    for pk, result in enumerate(results):
        if pk % 2:
            assert isinstance(result, Conflict) and result.code == "room_full"
        else:
            assert result == (room_id, "x", {})
    assert consumers._admissions == {}


async def test_a_failed_batch_fails_its_members_and_the_next_batch_still_runs(monkeypatch):
    calls = []

    def admit_batch(room_id, entries):
        calls.append(len(entries))
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return [(room_id, "listener", {}) for _ in entries]

    monkeypatch.setattr(consumers, "_admit_batch", admit_batch)
    room_id = "7b4f7a4e-0000-4000-8000-000000000002"
    with pytest.raises(RuntimeError):
        await consumers._admit(room_id, _User(1), "c1")
    assert await consumers._admit(room_id, _User(2), "c2") == (room_id, "listener", {})
    assert consumers._admissions == {}
