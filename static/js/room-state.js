// The room as this client knows it: built from `room.snapshot`, then kept current by applying
// events in `seq` order (docs/protocol.md). No rules live here: what a member may do comes from
// the snapshot's `me.permissions`, re-read after anything that changes the member's own role.

export const STAGE_ROLES = new Set(["host", "moderator", "speaker"]);
export const MODERATOR_ROLES = new Set(["host", "moderator"]);

export class RoomState {
  constructor({ me, followees = [], blocked = [] }) {
    this.meId = me.id;
    this.followees = new Set(followees);
    // The members this member blocked (their own list, from the page): the stage warns when one
    // of them is on it, rather than keeping this member out (docs/moderation.md).
    this.blocked = new Set(blocked);
    this.seq = null; // null until the first snapshot
    this.room = null;
    this.me = null;
    this.stage = new Map(); // user id -> participant
    this.listeners = new Map(); // the first page of the audience, user id -> participant
    this.listenerCount = 0;
    this.speakerCount = 0;
    this.hands = { count: 0, queue: [] };
    this.reactions = { allowed: [], totals: {} };
    this.audio = { available: true };
  }

  get ready() {
    return this.seq !== null;
  }

  get role() {
    return this.me?.role ?? null;
  }

  get onStage() {
    return STAGE_ROLES.has(this.role);
  }

  get isModerator() {
    return MODERATOR_ROLES.has(this.role);
  }

  can(action) {
    return Boolean(this.me?.permissions?.includes(action));
  }

  /** Stage participants this member blocked, in stage order. */
  blockedOnStage() {
    return [...this.stage.values()].filter((p) => this.blocked.has(p.user.id));
  }

  participant(userId) {
    return this.stage.get(userId) ?? this.listeners.get(userId)
      ?? this.hands.queue.find((p) => p.user.id === userId) ?? null;
  }

  applySnapshot(snapshot) {
    this.seq = snapshot.seq;
    this.room = snapshot.room;
    this.me = snapshot.me;
    this.stage = new Map(snapshot.stage.map((p) => [p.user.id, p]));
    this.listeners = new Map(snapshot.listeners.first.map((p) => [p.user.id, p]));
    this.listenerCount = snapshot.listeners.count;
    this.speakerCount = snapshot.room.counts?.speakers ?? this.stage.size;
    this.hands = { count: snapshot.hands.count, queue: snapshot.hands.queue ?? [] };
    this.reactions = snapshot.reactions;
    this.audio = snapshot.audio;
  }

  /**
   * Where an event stands against what we have: "apply" (the next one), "stale" (already
   * covered by the snapshot or seen), or "gap" (some were missed: ask for a snapshot).
   * Messages without a seq (ack, error, audio.answer) are "direct".
   */
  classify(message) {
    if (typeof message.seq !== "number") return "direct";
    if (this.seq === null || message.seq <= this.seq) return "stale";
    if (message.seq === this.seq + 1) return "apply";
    return "gap";
  }

  /**
   * Apply one in-order event. Returns a description of what changed that the view and the
   * controller act on: {kind, ...}.
   */
  apply(event) {
    this.seq = event.seq;
    if (event.counts) this._counts(event.counts);
    switch (event.type) {
      case "participant.joined":
        this._place(event.participant);
        return { kind: "joined", participant: event.participant };
      case "participant.left":
        return this._left(event.user_id, event.reason);
      case "audience.updated": {
        for (const p of event.joined ?? []) this._place(p);
        for (const id of event.left ?? []) this._remove(Number(id));
        return { kind: "audience", joined: event.joined_count ?? 0, left: event.left_count ?? 0 };
      }
      case "participant.updated":
        return this._updated(event);
      case "hands.updated":
        this.hands.count = event.count ?? this.hands.count;
        return { kind: "hands" };
      case "speaker.invited":
        if (event.user_id === this.meId && this.me) this.me.invited_to_speak = true;
        return { kind: "invited", by: event.by, mine: event.user_id === this.meId };
      case "speaker.expired":
        if (event.user_id === this.meId && this.me) this.me.invited_to_speak = false;
        return { kind: "expired", userId: event.user_id, mine: event.user_id === this.meId };
      case "speaker.accepted":
      case "speaker.declined":
        return { kind: "answered", userId: event.user_id, accepted: event.type === "speaker.accepted" };
      case "removed":
        return { kind: "removed", mine: event.user_id === this.meId, reason: event.reason };
      case "moved":
        // One room at a time: this member entered another room (from another tab or device).
        return { kind: "moved", mine: event.user_id === this.meId, to: event.to };
      case "room.updated":
        if (event.data) this.room = { ...this.room, ...event.data };
        return { kind: "room", change: event.change };
      case "room.ended":
        if (this.room) this.room.state = "ended";
        return { kind: "ended", reason: event.reason };
      case "reaction":
        this.reactions.totals = event.totals ?? this.reactions.totals;
        return { kind: "reaction", counts: event.counts ?? {} };
      case "audio.unavailable":
        this.audio = { ...this.audio, available: false };
        return { kind: "audio-unavailable", message: event.message };
      case "audio.renegotiate":
        this.audio = { ...this.audio, available: true };
        return { kind: "renegotiate", reason: event.reason };
      default:
        return { kind: "other", type: event.type };
    }
  }

  _counts(counts) {
    if (typeof counts.listeners === "number") this.listenerCount = counts.listeners;
    if (typeof counts.speakers === "number") this.speakerCount = counts.speakers;
  }

  _place(participant) {
    const id = participant.user.id;
    const previous = this.participant(id);
    const merged = previous ? { ...previous, ...participant } : participant;
    if (STAGE_ROLES.has(merged.role)) {
      this.listeners.delete(id);
      this.stage.set(id, merged);
      this.hands.queue = this.hands.queue.filter((p) => p.user.id !== id);
    } else {
      this.stage.delete(id);
      this.listeners.set(id, merged);
    }
    return merged;
  }

  _remove(id) {
    this.stage.delete(id);
    this.listeners.delete(id);
    this.hands.queue = this.hands.queue.filter((p) => p.user.id !== id);
  }

  _left(userId, reason) {
    const participant = this.participant(userId);
    this._remove(userId);
    return { kind: "left", participant, userId, reason, mine: userId === this.meId };
  }

  _updated(event) {
    if (event.change === "talking") {
      const p = this.stage.get(event.user_id);
      if (p) p.talking = Boolean(event.talking);
      return { kind: "talking", userId: event.user_id, talking: Boolean(event.talking) };
    }
    if (typeof event.hands === "number") this.hands.count = event.hands;
    const participant = event.participant;
    if (!participant) return { kind: "other", type: event.type };
    const id = participant.user.id;
    const before = this.participant(id);
    const oldRole = before?.role ?? null;
    if (event.change === "hand") {
      // Moderators (and the member concerned) see the queue itself.
      const queue = this.hands.queue.filter((p) => p.user.id !== id);
      if (participant.hand_raised) {
        queue.push(participant);
        queue.sort((a, b) => String(a.hand_raised_at).localeCompare(String(b.hand_raised_at)));
      }
      this.hands.queue = queue;
      if (this.listeners.has(id)) this.listeners.set(id, { ...this.listeners.get(id), ...participant });
    } else {
      this._place(participant);
    }
    const mine = id === this.meId;
    if (mine && this.me) {
      this.me.role = participant.role;
      this.me.muted = participant.muted;
      this.me.moderator_muted = participant.moderator_muted;
      if ("hand_raised" in participant) this.me.hand_raised = participant.hand_raised;
      if ("invited_to_speak" in participant) this.me.invited_to_speak = participant.invited_to_speak;
    }
    return {
      kind: "updated",
      change: event.change,
      participant,
      mine,
      by: event.by,
      roleChanged: oldRole !== null && oldRole !== participant.role,
      oldRole,
    };
  }

  /** The audience split for display: people I follow first, then the others, each by arrival. */
  audience() {
    const followed = [];
    const others = [];
    for (const p of this.listeners.values()) {
      (this.followees.has(p.user.id) ? followed : others).push(p);
    }
    return { followed, others };
  }
}
