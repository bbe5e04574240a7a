// Drawing the room: stage, hand queue, audience, controls, floating reactions. DOM is built with
// textContent only (names are user input). Lists are redrawn whole (they are small: the stage is
// capped, the audience list is the first page), keeping keyboard focus on the same person.

import { STAGE_ROLES } from "./room-state.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  mic: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0M12 17v4",
  "mic-off": "M4 4l16 16M9 9v3a3 3 0 0 0 5 2.2M15 10V6a3 3 0 0 0-6 0M6 11a6 6 0 0 0 9.5 4.9M18 11a6 6 0 0 1-.4 2.1M12 17v4",
  hand: "M8 13V6a1.5 1.5 0 0 1 3 0v5M11 11V4.5a1.5 1.5 0 0 1 3 0V11M14 11V6a1.5 1.5 0 0 1 3 0v7a7 7 0 0 1-7 7c-2.5 0-4-1.2-5.3-3L3 14a1.5 1.5 0 0 1 2.5-1.6L8 15",
};
const ROLE_LABEL = { host: "Host", moderator: "Moderator", speaker: "Speaker", listener: "Listener" };

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function displayName(user) {
  return user.display_name || user.username;
}

function initials(user) {
  const words = displayName(user).replace(/[_.]/g, " ").trim().split(/\s+/).filter(Boolean);
  const text = words.length >= 2 ? words[0][0] + words[1][0] : displayName(user).slice(0, 2);
  return text.toUpperCase();
}

export function avatar(user, size = "") {
  const node = el("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" });
  if (user.avatar_url) node.append(el("img", { src: user.avatar_url, alt: "", loading: "lazy" }));
  else node.textContent = initials(user);
  return node;
}

export function roleLabel(role) {
  return ROLE_LABEL[role] ?? role;
}

/** A spoken summary of a person, for the button that opens their options. */
function personLabel(p, { isMe, followed, blocked }) {
  const parts = [displayName(p.user)];
  if (isMe) parts.push("you");
  if (p.role !== "listener") parts.push(roleLabel(p.role).toLowerCase());
  if (STAGE_ROLES.has(p.role)) {
    if (p.moderator_muted) parts.push("muted by a moderator");
    else if (p.muted) parts.push("muted");
    if (p.talking) parts.push("talking");
  }
  if (p.hand_raised) parts.push("hand raised");
  if (followed) parts.push("you follow them");
  if (blocked) parts.push("you blocked them");
  return parts.join(", ");
}

export function person(p, { isMe = false, followed = false, blocked = false } = {}) {
  const onStage = STAGE_ROLES.has(p.role);
  const wrap = el("span", { class: "avatar-wrap" }, avatar(p.user));
  if (onStage) {
    const muted = p.muted || p.moderator_muted;
    wrap.append(el("span", { class: `mic${muted ? " muted" : ""}` }, icon(muted ? "mic-off" : "mic")));
  }
  if (p.hand_raised) wrap.append(el("span", { class: "hand", text: "✋" }));
  const badges = el("span", { class: "badges" });
  if (p.role === "host") badges.append(el("span", { class: "pill host", text: "Host" }));
  if (p.role === "moderator") badges.append(el("span", { class: "pill mod", text: "Mod" }));
  if (blocked) badges.append(el("span", { class: "pill warn", "data-blocked": "", text: "Blocked" }));
  const button = el(
    "button",
    {
      type: "button",
      class: "person-menu",
      "data-person": String(p.user.id),
      "aria-haspopup": "dialog",
      "aria-label": personLabel(p, { isMe, followed, blocked }),
    },
    wrap,
    el("span", { class: "name", text: isMe ? `${displayName(p.user)} (you)` : displayName(p.user) }),
    badges,
  );
  return el(
    "li",
    {
      class: `person${p.talking ? " talking" : ""}${isMe ? " me" : ""}`,
      "data-user-id": String(p.user.id),
      "data-role": p.role,
    },
    button,
  );
}

/** Replace a list's children, putting keyboard focus back on the same person if it was there. */
export function redraw(list, items) {
  const focused = document.activeElement;
  const key = focused && list.contains(focused) ? focused.dataset.person || focused.dataset.key : null;
  list.replaceChildren(...items);
  if (key) {
    const again = list.querySelector(`[data-person="${key}"], [data-key="${key}"]`);
    if (again) again.focus();
  }
}

export function handRow(p, { canInvite }) {
  const row = el(
    "li",
    { "data-user-id": String(p.user.id) },
    avatar(p.user, "sm"),
    el("span", { class: "who", text: displayName(p.user) }),
  );
  if (p.invited_to_speak) {
    row.append(el("span", { class: "pill", text: "Invited" }));
  } else if (canInvite) {
    row.append(
      el("button", {
        type: "button",
        class: "small primary",
        "data-action": "speaker.invite",
        "data-user": String(p.user.id),
        "data-key": `invite-${p.user.id}`,
        text: "Invite to speak",
        "aria-label": `Invite ${displayName(p.user)} to speak`,
      }),
    );
  }
  row.append(
    el("button", {
      type: "button",
      class: "small",
      "data-action": "hand.lower",
      "data-user": String(p.user.id),
      "data-key": `lower-${p.user.id}`,
      text: "Lower hand",
      "aria-label": `Lower ${displayName(p.user)}'s hand`,
    }),
  );
  return row;
}

/** Emoji that float up from the bottom of the screen, one per emoji in the window, with a count. */
export function floatReactions(layer, counts) {
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  for (const [emoji, count] of Object.entries(counts)) {
    const node = el("span", { class: "float-emoji", "data-emoji": emoji, text: emoji });
    if (count > 1) node.append(el("span", { class: "n", text: `×${count}` }));
    node.style.left = `${10 + Math.random() * 75}%`;
    if (!reduce) node.style.animationDelay = `${Math.random() * 0.15}s`;
    layer.append(node);
    node.addEventListener("animationend", () => node.remove());
    setTimeout(() => node.remove(), 4000);
  }
}

export function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
