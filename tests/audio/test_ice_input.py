"""Trickled ICE candidates are checked before they reach Janus (found by the socket fuzzer)."""

from __future__ import annotations

import pytest

from audiosocial.errors import InvalidInput
from rooms.audio import signalling

LINE = "candidate:1 1 udp 1 1.2.3.4 9 typ host"


@pytest.mark.parametrize(
    "candidate",
    [
        {"candidate": LINE, "sdpMLineIndex": "abc"},
        {"candidate": LINE, "sdpMLineIndex": 2**70},
        {"candidate": LINE, "sdpMLineIndex": -1},
        {"candidate": LINE, "sdpMLineIndex": 1.5},
        {"candidate": LINE, "sdpMLineIndex": True},
        {"candidate": LINE, "sdpMid": {}},
        {"candidate": LINE, "sdpMid": "m" * 33},
    ],
)
async def test_malformed_candidate_fields_are_invalid_candidate(candidate):
    with pytest.raises(InvalidInput) as refused:
        await signalling.handle_ice(room_id="r", user_id=1, connection_id="c", candidate=candidate)
    assert refused.value.code == "invalid_candidate"


async def test_a_well_formed_candidate_without_a_connection_is_ignored():
    await signalling.handle_ice(
        room_id="r", user_id=1, connection_id="c", candidate={"candidate": LINE, "sdpMid": "0"}
    )
    await signalling.shutdown()
