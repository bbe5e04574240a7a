"""The room page's state module (static/js/room-state.js), run in Chromium: seq order, gaps, and
how events move people between stage, audience and the hand queue."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SCRIPT = """
async () => {
  const { RoomState } = await import('/static/js/room-state.js');
  const person = (id, role, extra = {}) => ({
    user: { id, username: `u${id}`, display_name: `U${id}`, avatar_url: '' },
    role, muted: true, self_muted: true, moderator_muted: false, ...extra,
  });
  const state = new RoomState({ me: { id: 2 }, followees: [3] });
  state.applySnapshot({
    seq: 5,
    room: { id: 'r', title: 'T', counts: { speakers: 1, listeners: 2 } },
    me: { user_id: 2, role: 'listener', permissions: ['leave', 'raise_hand'] },
    stage: [person(1, 'host')],
    hands: { count: 0 },
    listeners: { count: 2, first: [person(2, 'listener'), person(4, 'listener')] },
    reactions: { allowed: ['🔥'], totals: {} },
    audio: { available: true },
  });
  const out = {};
  out.classify = [5, 6, 8].map((seq) => state.classify({ seq }));
  out.direct = state.classify({ type: 'ack', id: 'c1' });
  state.apply({ seq: 6, type: 'audience.updated', joined: [person(3, 'listener')], left: ['4'],
                counts: { speakers: 1, listeners: 2 } });
  const audience = state.audience();
  out.followedFirst = audience.followed.map((p) => p.user.id);
  out.others = audience.others.map((p) => p.user.id);
  const promoted = state.apply({
    seq: 7, type: 'participant.updated', change: 'role', by: 1,
    participant: person(2, 'speaker'), counts: { speakers: 2, listeners: 1 },
  });
  out.promoted = { mine: promoted.mine, roleChanged: promoted.roleChanged, onStage: state.onStage,
                   stage: [...state.stage.keys()], speakers: state.speakerCount };
  const talking = state.apply({
    seq: 8, type: 'participant.updated', change: 'talking', user_id: 1, talking: true,
  });
  out.talking = [talking.kind, state.stage.get(1).talking];
  const hands = state.apply({ seq: 9, type: 'hands.updated', count: 3 });
  out.hands = `${hands.kind}:${state.hands.count}`;
  out.skip = state.apply({ seq: 10, type: 'skip' }).kind;
  out.removed = state.apply({ seq: 11, type: 'removed', user_id: 2, reason: 'removed' });
  out.moved = state.apply({ seq: 12, type: 'moved', user_id: 2, to: 'r2' });
  state.apply({ seq: 13, type: 'speaker.invited', user_id: 2, by: 1 });
  const invited = state.me.invited_to_speak;
  const expired = state.apply({ seq: 14, type: 'speaker.expired', user_id: 2 });
  out.expired = {
    invited, after: state.me.invited_to_speak, kind: expired.kind, mine: expired.mine,
  };
  out.ended = state.apply({ seq: 15, type: 'room.ended', reason: 'host' }).kind;
  out.seq = state.seq;
  return out;
}
"""


def test_room_state_follows_seq_order_and_moves_people(open_browser):
    page = open_browser(None).page
    page.goto("/healthz")
    result = page.evaluate(SCRIPT)
    assert result["classify"] == ["stale", "apply", "gap"]
    assert result["direct"] == "direct"
    assert result["followedFirst"] == [3]
    assert result["others"] == [2]
    assert result["promoted"] == {
        "mine": True,
        "roleChanged": True,
        "onStage": True,
        "stage": [1, 2],
        "speakers": 2,
    }
    assert result["talking"] == ["talking", True]
    assert result["hands"] == "hands:3"
    assert result["skip"] == "other"
    assert result["removed"] == {"kind": "removed", "mine": True, "reason": "removed"}
    assert result["moved"] == {"kind": "moved", "mine": True, "to": "r2"}
    assert result["expired"] == {"invited": True, "after": False, "kind": "expired", "mine": True}
    assert result["ended"] == "ended"
    assert result["seq"] == 15
