// The room page: one WebSocket (/ws/rooms/<id>/) carries the room's state, the member's commands
// and the audio signalling (docs/protocol.md, docs/web.md). Opening the socket joins the room;
// it reconnects by itself and re-reads a snapshot whenever it missed an event.

import { api } from "./http.js";
import { announce } from "./live.js";
import { MODERATOR_ROLES, RoomState, STAGE_ROLES } from "./room-state.js";
import { MicrophoneError, RoomAudio } from "./room-audio.js";
import {
  avatar, displayName, el, floatReactions, handRow, person, plural, redraw, roleLabel,
} from "./room-view.js";
import { ReconnectingSocket, wsUrl } from "./socket.js";

const CLOSE = {
  LEFT: 1000,
  NOT_AUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  NOT_JOINABLE: 4409,
  ENDED: 4410,
};
const FINAL_CODES = new Set([
  CLOSE.NOT_AUTHENTICATED, CLOSE.FORBIDDEN, CLOSE.NOT_FOUND, CLOSE.NOT_JOINABLE, CLOSE.ENDED,
]);
const ROLE_MOVE_FALLBACK_MS = 3000;
// Why the account was signed out (`session.terminated`'s reason, docs/protocol.md).
const SIGNED_OUT = {
  suspension: "A moderator suspended your account: you can't use rooms until the suspension ends. Signing in tells you when.",
  ban: "A moderator banned your account.",
  evicted: "A moderator suspended or banned your account: you can't use rooms. Signing in tells you more.",
};

const root = document.querySelector("[data-room-root]");
const config = JSON.parse(document.getElementById("room-config").textContent);
const $ = (selector) => root.querySelector(selector);

const ui = {
  status: $("[data-status]"),
  audioBanner: $("[data-audio-banner]"),
  audioMessage: $("[data-audio-message]"),
  audioAction: $("[data-audio-action]"),
  invitation: $("[data-invitation]"),
  invitationText: $("[data-invitation-text]"),
  live: $("[data-live]"),
  counts: $("[data-counts]"),
  title: $("[data-room-title]"),
  topic: $("[data-room-topic]"),
  stage: $("[data-stage]"),
  blockedWarning: $("[data-blocked-warning]"),
  stageCount: $("[data-stage-count]"),
  hands: $("[data-hands]"),
  handQueue: $("[data-hand-queue]"),
  handsCount: $("[data-hands-count]"),
  handsEmpty: $("[data-hands-empty]"),
  audienceFollowed: $("[data-audience-followed]"),
  audience: $("[data-audience]"),
  audienceCount: $("[data-audience-count]"),
  audienceMore: $("[data-audience-more]"),
  followedTitle: $("[data-followed-title]"),
  othersTitle: $("[data-others-title]"),
  final: $("[data-final]"),
  finalTitle: $("[data-final-title]"),
  finalText: $("[data-final-text]"),
  controls: $("[data-controls]"),
  reactions: $("[data-reactions]"),
  micButton: $('[data-action="mic"]'),
  micLabel: $("[data-mic-label]"),
  handButton: $('[data-action="hand"]'),
  handLabel: $("[data-hand-label]"),
  floatLayer: $("[data-float-layer]"),
  audioElement: $("[data-room-audio]"),
  personDialog: $("[data-person-dialog]"),
  inviteDialog: $("[data-invite-dialog]"),
  editDialog: $("[data-edit-dialog]"),
  visibilityPill: $("[data-visibility-pill]"),
  confirmDialog: $("[data-confirm-dialog]"),
  reportDialog: $("[data-report-dialog]"),
};

const state = new RoomState({ me: config.me, followees: config.followees ?? [], blocked: config.blocked ?? [] });
let phase = "connecting"; // connecting | live | reconnecting | left | removed | ended | gone
let awaitingSnapshot = false;
let needAudio = true;
let lastError = null;
let roleMoveTimer = null;
let leaving = false;

// --- the socket ----------------------------------------------------------------------------

const socket = new ReconnectingSocket(wsUrl(`/ws/rooms/${config.room}/`), {
  shouldRetry: (code) => !FINAL_CODES.has(code) && !(code === CLOSE.LEFT && leaving),
  onopen() {
    // The server sends a snapshot on connect; audio is negotiated again for this connection.
    awaitingSnapshot = true;
    needAudio = true;
  },
  onmessage: handleMessage,
  onclose({ code, willRetry }) {
    if (isFinal()) return;
    if (code === CLOSE.LEFT && leaving) return;
    if (willRetry) {
      setPhase("reconnecting");
      return;
    }
    finalFromClose(code);
  },
});

function isFinal() {
  return ["left", "removed", "ended", "gone"].includes(phase);
}

function send(type, fields = {}) {
  return socket.request({ type, ...fields });
}

function requestSnapshot() {
  if (awaitingSnapshot) return;
  awaitingSnapshot = true;
  if (!socket.send({ type: "hello" })) awaitingSnapshot = false;
}

function handleMessage(message) {
  if (message.type === "room.snapshot") {
    state.applySnapshot(message);
    awaitingSnapshot = false;
    onSnapshot();
    return;
  }
  if (message.type === "error") {
    lastError = message;
    if (message.id === null || message.id === undefined) showError(message.message);
    return;
  }
  if (message.type === "session.terminated") {
    finalState("gone", "You were signed out", SIGNED_OUT[message.reason] ?? SIGNED_OUT.evicted);
    return;
  }
  if (awaitingSnapshot) {
    // The snapshot will cover the room's state, but not these requests to act.
    if (message.type === "audio.renegotiate") react({ kind: "renegotiate", reason: message.reason });
    else if (message.type === "reaction") react({ kind: "reaction", counts: message.counts ?? {} });
    return;
  }
  const position = state.classify(message);
  if (position === "gap") {
    requestSnapshot();
    return;
  }
  if (position !== "apply") return;
  react(state.apply(message));
}

function finalFromClose(code) {
  switch (code) {
    case CLOSE.ENDED:
      finalState("ended", "This room has ended", "Thanks for listening.");
      break;
    case CLOSE.FORBIDDEN:
      finalState(
        "removed",
        "You were removed from this room",
        lastError?.message && lastError.code !== "removed_from_room"
          ? lastError.message
          : "A moderator removed you. You can't rejoin this room.",
      );
      break;
    case CLOSE.NOT_AUTHENTICATED:
      finalState("gone", "You're signed out", "Sign in again to join rooms.");
      break;
    case CLOSE.NOT_JOINABLE:
      finalState("gone", "You can't join right now", lastError?.message ?? "This room can't take you in right now.");
      break;
    default:
      finalState("gone", "This room isn't available", "It may have ended, or you may not be allowed in.");
  }
}

// --- reacting to state changes -----------------------------------------------------------

function onSnapshot() {
  if (isFinal()) return;
  if (state.room?.state === "ended") {
    finalState("ended", "This room has ended", "Thanks for listening.");
    return;
  }
  setPhase("live");
  renderAll();
  if (needAudio) {
    needAudio = false;
    connectAudio();
  }
}

function react(change) {
  switch (change.kind) {
    case "joined":
      if (STAGE_ROLES.has(change.participant.role) && change.participant.user.id !== state.meId) {
        announce(`${displayName(change.participant.user)} joined the stage.`);
      }
      renderPeople();
      break;
    case "left":
      if (change.participant && STAGE_ROLES.has(change.participant.role) && !change.mine) {
        announce(`${displayName(change.participant.user)} left the stage.`);
      }
      renderPeople();
      break;
    case "audience":
    case "hands":
      renderPeople();
      break;
    case "talking":
      markTalking(change.userId, change.talking);
      break;
    case "updated":
      onUpdated(change);
      break;
    case "invited":
      if (change.mine) {
        const by = state.participant(change.by);
        showInvitation(by ? displayName(by.user) : "A moderator");
      }
      break;
    case "answered": {
      const who = state.participant(change.userId);
      if (who && state.isModerator) {
        announce(`${displayName(who.user)} ${change.accepted ? "accepted" : "declined"} the invitation to speak.`);
      }
      renderPeople();
      break;
    }
    case "expired": {
      if (change.mine) {
        if (!ui.invitation.hidden) announce("The invitation to speak expired. Raise your hand to ask again.");
        hideInvitation();
      } else if (state.isModerator) {
        const who = state.participant(change.userId);
        if (who) announce(`${displayName(who.user)}'s invitation to speak expired.`);
      }
      renderPeople();
      renderControls();
      break;
    }
    case "removed":
      if (!change.mine) break;
      // A suspension or ban takes the member out of every room ("evicted") and ends their
      // sessions: whichever of the two messages comes first says so, not "removed from this room".
      if (change.reason === "evicted") finalState("gone", "You were signed out", SIGNED_OUT.evicted);
      else finalState("removed", "You were removed from this room", "A moderator removed you. You can't rejoin this room.");
      break;
    case "moved":
      // Final, so the socket stops: reconnecting would join this room again and move the
      // member back out of the room they just entered.
      if (change.mine) {
        finalState("left", "You joined another room", "You left this room when you joined another one (one room at a time).");
      }
      break;
    case "room":
      renderHeader();
      if (change.change === "host") requestSnapshot();
      break;
    case "ended":
      finalState("ended", "This room has ended", "Thanks for listening.");
      break;
    case "reaction":
      floatReactions(ui.floatLayer, change.counts);
      break;
    case "audio-unavailable":
      setAudioBanner("Audio is unavailable right now; it comes back by itself.");
      break;
    case "renegotiate":
      clearTimeout(roleMoveTimer);
      connectAudio();
      break;
    default:
      break;
  }
}

function onUpdated(change) {
  const name = displayName(change.participant.user);
  if (change.mine) {
    if (change.roleChanged) {
      // Permissions follow the role: read them fresh rather than re-deriving the rules here.
      requestSnapshot();
      const nowOnStage = STAGE_ROLES.has(change.participant.role);
      const wasOnStage = STAGE_ROLES.has(change.oldRole);
      if (nowOnStage && !wasOnStage) {
        announce("You're on stage. Your microphone is muted until you unmute it.", { assertive: true });
      } else if (!nowOnStage && wasOnStage) {
        announce("You're back in the audience.", { assertive: true });
      } else {
        announce(`You're now ${roleLabel(change.participant.role).toLowerCase()}.`);
      }
      hideInvitation();
      if (nowOnStage !== wasOnStage) expectRenegotiation(nowOnStage);
    } else if (change.change === "muted" && change.by && change.by !== state.meId && change.participant.moderator_muted) {
      announce("A moderator muted you.", { assertive: true });
    }
    if (change.change === "hand" && state.me && !state.me.invited_to_speak) hideInvitation();
    audio.setMicEnabled(state.onStage && !state.me.muted);
  } else if (change.roleChanged) {
    announce(`${name} is now ${STAGE_ROLES.has(change.participant.role) ? `on stage as ${roleLabel(change.participant.role).toLowerCase()}` : "in the audience"}.`);
  } else if (change.change === "hand" && change.participant.hand_raised && state.isModerator) {
    announce(`${name} raised a hand.`);
  }
  renderPeople();
  renderControls();
}

function expectRenegotiation(onStage) {
  // The server asks for a new offer when a member moves between audience and stage
  // (audio.renegotiate); if that never comes, connect anyway so the microphone follows the role.
  clearTimeout(roleMoveTimer);
  roleMoveTimer = setTimeout(() => {
    if (!isFinal() && Boolean(audio.wantMic) !== onStage) connectAudio();
  }, ROLE_MOVE_FALLBACK_MS);
}

// --- audio -------------------------------------------------------------------------------

const audio = new RoomAudio({
  element: ui.audioElement,
  send: async (sdp) => (await send("audio.offer", { sdp })).sdp,
  onstate: onAudioState,
});

function connectAudio() {
  if (isFinal() || !state.ready) return;
  audio.setMicEnabled(state.onStage && !state.me.muted);
  audio.connect(state.onStage);
}

function onAudioState(audioState, detail) {
  root.dataset.audio = audioState;
  switch (audioState) {
    case "connecting":
      if (ui.audioBanner.hidden) break;
      setAudioBanner("Connecting audio…");
      break;
    case "on":
      hideAudioBanner();
      break;
    case "blocked":
      setAudioBanner("Your browser paused the sound.", "Turn on sound", () => {
        audio.resume();
        hideAudioBanner();
      });
      break;
    case "unavailable":
      setAudioBanner(detail || "Audio is unavailable right now; it comes back by itself.");
      break;
    case "mic-denied":
      setAudioBanner(`${detail} You can still listen.`, "Try again", () => connectAudio());
      break;
    case "failed":
      setAudioBanner("Audio could not connect; trying again…");
      break;
    case "stopped":
      hideAudioBanner();
      break;
    default:
      break;
  }
}

function setAudioBanner(message, actionLabel, action) {
  ui.audioBanner.hidden = false;
  ui.audioMessage.textContent = message;
  if (actionLabel) {
    ui.audioAction.hidden = false;
    ui.audioAction.textContent = actionLabel;
    ui.audioAction.onclick = action;
  } else {
    ui.audioAction.hidden = true;
    ui.audioAction.onclick = null;
  }
}

function hideAudioBanner() {
  ui.audioBanner.hidden = true;
}

// --- drawing -----------------------------------------------------------------------------

function setPhase(next) {
  phase = next;
  root.dataset.state = next;
  const messages = {
    connecting: "Connecting to the room…",
    reconnecting: "Connection lost. Reconnecting…",
  };
  if (messages[next]) {
    ui.status.hidden = false;
    ui.status.textContent = messages[next];
    ui.status.className = next === "reconnecting" ? "banner warn" : "banner";
  } else {
    ui.status.hidden = true;
    ui.status.textContent = "";
  }
  if (next === "live" && ui.status.dataset.wasReconnecting) {
    announce("Reconnected.");
  }
  ui.status.dataset.wasReconnecting = next === "reconnecting" ? "1" : "";
}

function renderAll() {
  renderHeader();
  renderReactions();
  renderPeople();
  renderControls();
  if (state.me?.invited_to_speak && !state.onStage) {
    showInvitation(null);
  } else {
    hideInvitation();
  }
}

function renderHeader() {
  if (!state.room) return;
  ui.title.textContent = state.room.title;
  document.title = `${state.room.title} · audiosocial`;
  ui.topic.textContent = state.room.topic || "";
  ui.topic.hidden = !state.room.topic;
  const visibility = { followers: "Followers of the host", closed: "Invited only" }[state.room.visibility];
  if (ui.visibilityPill) {
    ui.visibilityPill.textContent = visibility ?? "";
    ui.visibilityPill.hidden = !visibility;
  }
}

function renderPeople() {
  const me = state.meId;
  const stage = [...state.stage.values()];
  redraw(ui.stage, stage.map((p) => person(p, {
    isMe: p.user.id === me, followed: state.followees.has(p.user.id), blocked: state.blocked.has(p.user.id),
  })));
  renderBlockedWarning();
  const { followed, others } = state.audience();
  redraw(ui.audienceFollowed, followed.map((p) => person(p, { isMe: p.user.id === me, followed: true })));
  redraw(ui.audience, others.map((p) => person(p, { isMe: p.user.id === me })));
  ui.followedTitle.hidden = followed.length === 0;
  ui.othersTitle.hidden = followed.length === 0 || others.length === 0;
  const shown = followed.length + others.length;
  const more = Math.max(0, state.listenerCount - shown);
  ui.audienceMore.hidden = more === 0;
  ui.audienceMore.textContent = more ? `and ${plural(more, "more listener", "more listeners")}` : "";
  ui.stageCount.textContent = `(${state.speakerCount})`;
  ui.audienceCount.textContent = `(${state.listenerCount.toLocaleString()})`;
  ui.counts.textContent = `${state.speakerCount} on stage · ${plural(state.listenerCount, "listening", "listening")}`;

  ui.hands.hidden = !state.isModerator;
  if (state.isModerator) {
    const canInvite = state.can("invite_speaker");
    redraw(ui.handQueue, state.hands.queue.map((p) => handRow(p, { canInvite })));
    ui.handsCount.textContent = `(${state.hands.count})`;
    ui.handsEmpty.hidden = state.hands.queue.length > 0;
  }
}

// Who of the member's blocked people the warning named last: a newcomer to it is announced once.
let warnedAbout = new Set();

function renderBlockedWarning() {
  const blocked = state.blockedOnStage();
  ui.blockedWarning.hidden = blocked.length === 0;
  if (!blocked.length) {
    ui.blockedWarning.textContent = "";
    warnedAbout = new Set();
    return;
  }
  const names = listOf(blocked.map((p) => displayName(p.user)));
  const verb = blocked.length === 1 ? "is" : "are";
  ui.blockedWarning.textContent = `Someone you blocked ${verb} on stage: ${names}. `
    + "They are not told you blocked them; you can keep listening or leave quietly.";
  const fresh = blocked.filter((p) => !warnedAbout.has(p.user.id));
  if (fresh.length && state.ready) {
    announce(`Someone you blocked is on stage: ${listOf(fresh.map((p) => displayName(p.user)))}.`);
  }
  warnedAbout = new Set(blocked.map((p) => p.user.id));
}

function listOf(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function markTalking(userId, talking) {
  const item = ui.stage.querySelector(`[data-user-id="${userId}"]`);
  if (!item) return;
  item.classList.toggle("talking", talking);
  const button = item.querySelector("button");
  const p = state.stage.get(userId);
  if (button && p) {
    // Keep the label honest without announcing every breath: the label is read on focus only.
    const label = button.getAttribute("aria-label").replace(/, talking$/, "");
    button.setAttribute("aria-label", talking ? `${label}, talking` : label);
  }
}

function renderReactions() {
  if (ui.reactions.childElementCount) return;
  for (const emoji of state.reactions.allowed?.length ? state.reactions.allowed : config.reactions) {
    ui.reactions.append(
      el("button", { type: "button", "data-action": "reaction", "data-emoji": emoji, "aria-label": `React ${emoji}`, text: emoji }),
    );
  }
}

function renderControls() {
  for (const button of ui.controls.querySelectorAll("[data-requires]")) {
    const needed = button.dataset.requires.split(" ");
    button.hidden = !needed.some((action) => state.can(action));
  }
  const moreToggle = ui.controls.querySelector("[data-more-toggle]");
  moreToggle.hidden = ![...ui.controls.querySelectorAll("[data-more] button")].some((b) => !b.hidden);
  const me = state.me;
  if (!me) return;
  // Mic: the member's own mute; a moderator's mute wins until lifted.
  const muted = Boolean(me.muted);
  ui.micButton.setAttribute("aria-pressed", String(!muted));
  ui.micLabel.textContent = me.moderator_muted ? "Muted by a moderator" : muted ? "Unmute" : "Mute";
  ui.micButton.disabled = Boolean(me.moderator_muted);
  const raised = Boolean(me.hand_raised);
  ui.handButton.setAttribute("aria-pressed", String(raised));
  ui.handLabel.textContent = raised ? "Lower hand" : "Raise hand";
  ui.reactions.hidden = !me.participating && !me.role;
}

function showInvitation(byName) {
  ui.invitationText.textContent = byName ? `${byName} invited you to speak.` : "You're invited to speak.";
  const wasHidden = ui.invitation.hidden;
  ui.invitation.hidden = false;
  if (wasHidden) {
    announce(ui.invitationText.textContent, { assertive: true });
    ui.invitation.querySelector("button")?.focus();
  }
}

function hideInvitation() {
  ui.invitation.hidden = true;
}

function finalState(kind, title, text) {
  if (isFinal()) return;
  phase = kind;
  root.dataset.state = kind;
  clearTimeout(roleMoveTimer);
  audio.stop();
  socket.stop();
  for (const dialog of root.querySelectorAll("dialog[open]")) dialog.close();
  ui.status.hidden = true;
  hideAudioBanner();
  hideInvitation();
  ui.live.hidden = true;
  ui.controls.hidden = true;
  ui.final.hidden = false;
  ui.finalTitle.textContent = title;
  ui.finalText.textContent = text;
  ui.final.focus();
  announce(`${title}. ${text}`, { assertive: true });
}

function showError(message) {
  announce(message, { assertive: true });
  let stack = document.querySelector(".toasts");
  if (!stack) {
    stack = el("div", { class: "toasts" });
    document.body.append(stack);
  }
  const item = el("div", { class: "toast card banner error", role: "alert" }, el("span", { text: message }));
  stack.append(item);
  setTimeout(() => item.remove(), 6000);
}

// --- actions -----------------------------------------------------------------------------

async function run(type, fields = {}) {
  try {
    return await send(type, fields);
  } catch (error) {
    showError(error.message);
    return null;
  }
}

async function acceptInvitation() {
  // The microphone is asked for here, on the member's click, before going on stage.
  try {
    await audio.acquireMicrophone();
  } catch (error) {
    showError(error instanceof MicrophoneError ? error.message : "The microphone could not start.");
    return;
  }
  const ok = await run("speaker.accept");
  if (ok) hideInvitation();
}

async function leave() {
  leaving = true;
  try {
    await send("leave");
  } catch {
    // Not connected: leave through the REST API instead.
    await api(`/api/rooms/${config.room}/leave/`, { method: "POST" }).catch(() => {});
  }
  phase = "left";
  audio.stop();
  socket.stop();
  window.location.assign(config.hallway_url);
}

function confirmAction({ title, text, yes }) {
  const dialog = ui.confirmDialog;
  dialog.querySelector("[data-confirm-title]").textContent = title;
  dialog.querySelector("[data-confirm-text]").textContent = text;
  const yesButton = dialog.querySelector("[data-confirm-yes]");
  yesButton.textContent = yes;
  return new Promise((resolve) => {
    const finish = (answer) => {
      yesButton.onclick = null;
      dialog.querySelector("[data-confirm-no]").onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    yesButton.onclick = () => finish(true);
    dialog.querySelector("[data-confirm-no]").onclick = () => finish(false);
    dialog.onclose = () => finish(false);
    dialog.showModal();
    dialog.querySelector("[data-confirm-no]").focus();
  });
}

function personActions(p) {
  const actions = [];
  const isMe = p.user.id === state.meId;
  const mine = state.role;
  const target = p.role;
  const outranks = !isMe && (mine === "host" || (mine === "moderator" && (target === "speaker" || target === "listener")));
  if (outranks && MODERATOR_ROLES.has(mine)) {
    if (target === "listener") {
      if (!p.invited_to_speak) actions.push(["speaker.invite", "Invite to speak", false]);
      if (p.hand_raised) actions.push(["hand.lower", "Lower their hand", false]);
    } else {
      if (target !== "host") actions.push(["speaker.remove", "Move to audience", false]);
      if (p.moderator_muted) actions.push(["participant.unmute", "Allow to unmute", false]);
      else actions.push(["participant.mute", "Mute", false]);
    }
    if (mine === "host" && target !== "moderator") actions.push(["moderator.add", "Make moderator", false]);
    if (mine === "host" && target === "moderator") actions.push(["moderator.revoke", "Remove moderator role", false]);
    actions.push(["participant.remove", "Remove from room", true]);
  }
  return actions;
}

function openPerson(userId) {
  const p = state.participant(userId);
  if (!p) return;
  const dialog = ui.personDialog;
  dialog.querySelector("[data-person-name]").textContent = displayName(p.user);
  dialog.querySelector("[data-person-role]").textContent = `@${p.user.username} · ${roleLabel(p.role)}`;
  dialog.querySelector("[data-person-avatar]").replaceChildren(avatar(p.user, "lg"));
  const box = dialog.querySelector("[data-person-actions]");
  const buttons = personActions(p).map(([type, label, danger]) => {
    const button = el("button", { type: "button", class: danger ? "danger" : "", text: label });
    button.addEventListener("click", async () => {
      if (type === "participant.remove") {
        dialog.close();
        const sure = await confirmAction({
          title: `Remove ${displayName(p.user)}?`,
          text: "They leave the room now and cannot come back into it.",
          yes: "Remove",
        });
        if (sure) await run(type, { user: p.user.id });
        return;
      }
      dialog.close();
      await run(type, { user: p.user.id });
    });
    return button;
  });
  buttons.push(el("a", { class: "button", href: `/@${encodeURIComponent(p.user.username)}`, target: "_blank", rel: "noopener", text: "View profile" }));
  if (p.user.id !== state.meId) {
    const report = el("button", { type: "button", text: "Report" });
    report.addEventListener("click", () => {
      dialog.close();
      openReport(p.user);
    });
    const blocked = state.blocked.has(p.user.id);
    const block = el("button", { type: "button", class: blocked ? "" : "danger", text: blocked ? "Unblock" : "Block" });
    block.addEventListener("click", async () => {
      dialog.close();
      await toggleBlock(p.user);
    });
    buttons.push(report, block);
  }
  box.replaceChildren(...buttons);
  dialog.showModal();
  box.querySelector("button, a")?.focus();
}

/** A form's error from the API: the fields' own messages for `invalid`, else the message. */
function formErrorText(err) {
  const fields = Object.values(err.details ?? {}).flat().filter((m) => typeof m === "string");
  return err.code === "invalid" && fields.length ? fields.join(" ") : err.message;
}

async function toggleBlock(user) {
  const name = displayName(user);
  const path = `/api/users/${encodeURIComponent(user.username)}/block/`;
  if (state.blocked.has(user.id)) {
    try {
      await api(path, { method: "DELETE" });
    } catch (error) {
      showError(error.message);
      return;
    }
    state.blocked.delete(user.id);
    renderPeople();
    announce(`You unblocked ${name}.`);
    return;
  }
  // A block by the host or a moderator sends the member out of the room (and its audio); anyone
  // else's block only warns them while the member is on stage. Blocking the host hides their
  // rooms, this one included, so the member leaves it (docs/moderation.md).
  const isHost = state.participant(user.id)?.role === "host";
  let text = "You stop following each other and they cannot join rooms you host. If they speak here, you see a warning. They are not told.";
  if (isHost) text = "You stop following each other and leave this room: their rooms no longer show for you. They are not told.";
  else if (state.isModerator) text = "You stop following each other, they leave this room now and cannot join rooms you host or moderate. They are not told.";
  const sure = await confirmAction({ title: `Block ${name}?`, text, yes: "Block" });
  if (!sure) return;
  try {
    await api(path, { method: "POST" });
  } catch (error) {
    showError(error.message);
    return;
  }
  if (isHost) {
    await leave();
    return;
  }
  state.blocked.add(user.id);
  // Not a newcomer to the warning: the member has just said so themselves.
  warnedAbout.add(user.id);
  renderPeople();
  announce(`You blocked ${name}.`);
}

/** Report the room, or a member in it (``user``): the server keeps the room's state as evidence. */
function openReport(user = null) {
  const dialog = ui.reportDialog;
  const form = dialog.querySelector("[data-report-form]");
  const error = dialog.querySelector("[data-report-error]");
  dialog.querySelector("[data-report-title]").textContent = user ? `Report ${displayName(user)}` : "Report this room";
  dialog.querySelector("[data-report-help]").textContent = user
    ? `Moderators see the room as it is now: who is on stage and what just happened. ${displayName(user)} is never told who reported them.`
    : "Moderators see the room as it is now: its title, who is on stage and what just happened.";
  error.hidden = true;
  form.reset();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const category = form.elements.category.value;
    if (!category) {
      error.textContent = "Choose what is wrong.";
      error.hidden = false;
      form.elements.category.focus();
      return;
    }
    const body = { category, text: form.elements.text.value, room: config.room };
    if (user) body.username = user.username;
    try {
      await api("/api/reports/", { method: "POST", body });
      dialog.close();
      announce("Thank you. Our moderators will look at your report.", { assertive: true });
    } catch (err) {
      error.textContent = formErrorText(err);
      error.hidden = false;
    }
  };
  dialog.querySelector("[data-close]").onclick = () => dialog.close();
  dialog.showModal();
  form.elements.category.focus();
}

function openInvite() {
  const dialog = ui.inviteDialog;
  const form = dialog.querySelector("[data-invite-form]");
  const error = dialog.querySelector("[data-invite-error]");
  const moderator = state.can("invite");
  dialog.querySelector("#invite-title").textContent = moderator ? "Invite people" : "Ping someone";
  dialog.querySelector("[data-invite-help]").textContent = moderator
    ? "They get a notification with a link, and may enter even if the room is closed."
    : "They get a notification with a link to this room.";
  error.hidden = true;
  form.reset();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim().replace(/^@/, "");
    if (!username) return;
    try {
      await api(`/api/rooms/${config.room}/${moderator ? "invites" : "ping"}/`, { method: "POST", body: { username } });
      dialog.close();
      announce(`Invitation sent to ${username}.`);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  dialog.querySelector("[data-close]").onclick = () => dialog.close();
  dialog.showModal();
  form.elements.username.focus();
}

function openEdit() {
  const dialog = ui.editDialog;
  const form = dialog.querySelector("[data-edit-form]");
  const error = dialog.querySelector("[data-edit-error]");
  const room = state.room ?? {};
  error.hidden = true;
  form.elements.title.value = room.title ?? "";
  form.elements.topic.value = room.topic ?? "";
  for (const radio of form.querySelectorAll('input[name="visibility"]')) radio.checked = radio.value === room.visibility;
  form.elements.cohosts.value = (room.cohosts ?? []).map((c) => c.username).join(", ");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = {
      title: form.elements.title.value,
      topic: form.elements.topic.value,
      visibility: form.querySelector('input[name="visibility"]:checked')?.value ?? room.visibility,
      cohosts: form.elements.cohosts.value.split(/[\s,]+/).map((n) => n.replace(/^@/, "")).filter(Boolean),
    };
    try {
      const detail = await api(`/api/rooms/${config.room}/`, { method: "PATCH", body });
      // room.updated brings the rest to everyone; the co-hosts are only in the detail.
      state.room = { ...state.room, title: detail.title, topic: detail.topic, visibility: detail.visibility, cohosts: detail.cohosts };
      renderHeader();
      dialog.close();
      announce("Room updated.");
    } catch (err) {
      error.textContent = formErrorText(err);
      error.hidden = false;
    }
  };
  dialog.querySelector("[data-close]").onclick = () => dialog.close();
  dialog.showModal();
  form.elements.title.focus();
}

// --- trays (phones): reactions and "More" fold into panels above the control bar ----------

function closeTrays(except) {
  for (const toggle of root.querySelectorAll("[data-tray-toggle]")) {
    const tray = document.getElementById(toggle.dataset.trayToggle);
    if (tray === except) continue;
    tray.classList.remove("open");
    toggle.setAttribute("aria-expanded", "false");
  }
}

root.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-tray-toggle]");
  if (toggle) {
    const tray = document.getElementById(toggle.dataset.trayToggle);
    const open = !tray.classList.contains("open");
    closeTrays(tray);
    tray.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) tray.querySelector("button:not([hidden])")?.focus();
    return;
  }
  if (!event.target.closest(".tray")) closeTrays();
  else if (event.target.closest(".tray.more button")) closeTrays();
});

root.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const tray = event.target.closest?.(".tray.open");
  if (!tray) return;
  closeTrays();
  root.querySelector(`[data-tray-toggle="${tray.id}"]`)?.focus();
});

root.addEventListener("click", async (event) => {
  const personButton = event.target.closest("[data-person]");
  if (personButton && root.contains(personButton)) {
    openPerson(Number(personButton.dataset.person));
    return;
  }
  const button = event.target.closest("[data-action]");
  if (!button || button.disabled) return;
  const action = button.dataset.action;
  switch (action) {
    case "leave":
      await leave();
      break;
    case "mic":
      await run(state.me?.muted ? "mic.unmute" : "mic.mute");
      break;
    case "hand":
      await run(state.me?.hand_raised ? "hand.lower" : "hand.raise");
      break;
    case "reaction":
      await run("reaction", { emoji: button.dataset.emoji });
      break;
    case "speaker.accept":
      await acceptInvitation();
      break;
    case "speaker.decline":
      if (await run("speaker.decline")) hideInvitation();
      break;
    case "speaker.invite":
    case "hand.lower":
      await run(action, button.dataset.user ? { user: Number(button.dataset.user) } : {});
      break;
    case "leave-stage":
      await run("speaker.remove");
      break;
    case "invite-people":
      openInvite();
      break;
    case "edit-room":
      openEdit();
      break;
    case "report-room":
      openReport();
      break;
    case "end":
      if (await confirmAction({ title: "End this room?", text: "Everyone leaves and the audio stops.", yes: "End room" })) {
        await run("room.end");
      }
      break;
    default:
      break;
  }
});

window.addEventListener("pagehide", () => {
  // A reload or navigation is not a leave: the server waits a grace period for a new socket.
  if (!isFinal()) socket.stop();
  audio.stop();
});
window.addEventListener("pageshow", (event) => {
  // Back from the browser's page cache with a closed socket and no audio: start afresh.
  if (event.persisted) window.location.reload();
});

// First paint from the server-rendered detail, then the live socket takes over.
state.applySnapshot(snapshotFromDetail(config.detail));
state.seq = null;
renderAll();
setPhase("connecting");
socket.connect();

function snapshotFromDetail(detail) {
  const p = detail.participants;
  return {
    seq: 0,
    room: detail,
    me: { user_id: config.me.id, ...detail.me },
    stage: [...p.host, ...p.moderators, ...p.speakers],
    hands: { count: detail.hands?.length ?? 0, queue: detail.hands ?? [] },
    listeners: { count: detail.counts.listeners, first: p.listeners },
    reactions: { allowed: config.reactions, totals: {} },
    audio: { available: detail.audio_available ?? true },
  };
}

// Exposed for debugging in the console (window.audiosocialRoom.state), not used by the tests.
window.audiosocialRoom = { state, audio, socket };
