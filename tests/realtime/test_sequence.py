"""Every server event carries a room-wide ``seq``: contiguous for every client (targeted events
arrive as placeholders to the others), the same order everywhere, and a client that misses one
recovers with ``hello``."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms import consumers, services
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def _events(socket) -> list[dict]:
    return [m for m in socket.received if "seq" in m and m["type"] != "room.snapshot"]


async def test_seq_is_contiguous_and_identical_for_every_role():
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    alice_user, bob_user = await make_user(), await make_user()
    alice = await open_socket(alice_user, room.pk)
    bob = await open_socket(bob_user, room.pk)
    await alice.send(type="hand.raise", id=1)
    await alice.until("ack", id=1)
    await host.send(type="speaker.invite", id=2, user=alice_user.pk)
    await host.until("ack", id=2)
    await alice.send(type="speaker.accept", id=3)
    await alice.until("ack", id=3)
    await host.send(type="participant.mute", id=4, user=alice_user.pk)
    await host.until("ack", id=4)
    await alice.send(type="reaction", id=5, emoji="🔥")
    await alice.until("ack", id=5)
    for socket in (host, alice, bob):
        await socket.until("reaction")
    sequences = []
    for socket in (host, alice, bob):
        await socket.quiet(0.2)
        events = _events(socket)
        seqs = [e["seq"] for e in events]
        start = socket.received[0]["seq"]
        assert seqs == list(range(start + 1, start + 1 + len(seqs))), seqs
        sequences.append({e["seq"]: e for e in events})
    host_events, alice_events, bob_events = sequences
    common = set(host_events) & set(bob_events) & set(alice_events)
    assert len(common) >= 6
    for seq in common:
        if host_events[seq].get("audience") == "room":
            assert host_events[seq] == bob_events[seq] == alice_events[seq]
    # The hand went up: the host saw who, Bob only how many.
    hand = next(e for e in host_events.values() if e.get("change") == "hand")
    assert hand["participant"]["user"]["id"] == alice_user.pk
    assert bob_events[hand["seq"]] == {
        "seq": hand["seq"],
        "type": "hands.updated",
        "room": str(room.pk),
        "count": 1,
    }
    # Alice sees her own hand event in full.
    assert alice_events[hand["seq"]]["change"] == "hand"
    invited = next(e for e in alice_events.values() if e["type"] == "speaker.invited")
    assert bob_events[invited["seq"]]["type"] == "skip"
    assert host_events[invited["seq"]]["type"] == "skip"
    for socket in (host, alice, bob):
        await socket.close()


async def test_client_that_misses_an_event_recovers_with_hello(monkeypatch):
    host_user = await make_user()
    room = await make_room(host_user)
    listener_user = await make_user()
    listener = await open_socket(listener_user, room.pk)
    speaker_user = await make_user()
    await database_sync_to_async(services.participant_join)(room=room, user=speaker_user)
    await listener.until("audience.updated")

    # Lose the next frame on the listener's socket, as a dropped subscription would.
    original = consumers.RoomConsumer.deliver
    dropped: list[int] = []

    async def lossy(self, seq, message):
        if self.user_id == listener_user.pk and not dropped:
            dropped.append(seq)
            return
        await original(self, seq, message)

    monkeypatch.setattr(consumers.RoomConsumer, "deliver", lossy)
    await database_sync_to_async(services.moderator_add)(room=room, by=host_user, user=speaker_user)
    await database_sync_to_async(services.mic_unmute)(room=room, user=host_user)
    after_gap = await listener.until("participant.updated")
    last_seen = max(e["seq"] for e in _events(listener) if e is not after_gap)
    assert after_gap["seq"] > last_seen + 1, "the client can see the gap"

    await listener.send(type="hello", id="resync")
    snapshot = await listener.until("room.snapshot", id="resync")
    assert snapshot["seq"] >= after_gap["seq"]
    roles = {p["user"]["id"]: p["role"] for p in snapshot["stage"]}
    assert roles[speaker_user.pk] == "moderator", "the missed change is in the snapshot"
    # Events continue from the snapshot's seq.
    await database_sync_to_async(services.mic_mute)(room=room, user=host_user)
    nxt = await listener.until("participant.updated")
    assert nxt["seq"] == snapshot["seq"] + 1
    await listener.close()


async def test_events_published_while_a_snapshot_is_read_are_not_lost(monkeypatch):
    """A frame published between subscribing and sending the snapshot is delivered after it
    (or folded into it), never dropped."""
    from rooms import snapshot as snapshot_module

    host_user = await make_user()
    room = await make_room(host_user)
    original = snapshot_module.room_snapshot
    listener_user = await make_user()

    def slow_snapshot(**kwargs):
        result = original(**kwargs)
        services.mic_unmute(room=room, user=host_user)  # lands after the seq was read
        return result

    monkeypatch.setattr(consumers, "room_snapshot", slow_snapshot)
    listener = await open_socket(listener_user, room.pk)
    update = await listener.until("participant.updated")
    assert update["participant"]["self_muted"] is False
    seqs = [e["seq"] for e in _events(listener)]
    start = listener.received[0]["seq"]
    assert seqs == list(range(start + 1, start + 1 + len(seqs)))
    await listener.close()


async def test_seq_keeps_increasing_across_reconnects():
    host_user = await make_user()
    room = await make_room(host_user)
    first = await open_socket(host_user, room.pk)
    await first.send(type="mic.unmute", id=1)
    event = await first.until("participant.updated")
    await first.close()
    await asyncio.sleep(0.05)
    second = await open_socket(host_user, room.pk)
    assert second.received[0]["seq"] >= event["seq"]
    await second.close()
