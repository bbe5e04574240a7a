// Keeps the hallway live: re-fetches the server-rendered room sections (?partial=1) every few
// seconds while the tab is visible, and at once when a notification says someone went live.
// Only changed cards are replaced, so keyboard focus and screen-reader position survive.

import { announce } from "./live.js";
import { localizeTimes } from "./time.js";

// Counts drift slowly; a new room from someone you follow arrives at once through the bell's
// socket. Every open hallway costs one cheap request per interval (constant-query selector).
const INTERVAL_MS = 10000;
const root = document.querySelector("[data-hallway]");

function cardKey(el) {
  return el.dataset.roomCard;
}

function morph(current, next) {
  // Same set and order of sections and cards: update only the cards whose HTML changed.
  const oldCards = [...current.querySelectorAll("[data-room-card]")];
  const newCards = [...next.querySelectorAll("[data-room-card]")];
  const sameShape = current.querySelectorAll("section").length === next.querySelectorAll("section").length
    && oldCards.length === newCards.length
    && oldCards.every((el, i) => cardKey(el) === cardKey(newCards[i]));
  if (sameShape) {
    oldCards.forEach((el, i) => {
      if (el.innerHTML !== newCards[i].innerHTML) {
        const hadFocus = el.contains(document.activeElement);
        el.innerHTML = newCards[i].innerHTML;
        el.dataset.state = newCards[i].dataset.state;
        if (hadFocus) el.querySelector("a")?.focus();
      }
    });
    return;
  }
  const focusedCard = document.activeElement?.closest?.("[data-room-card]");
  const focusKey = focusedCard ? cardKey(focusedCard) : null;
  const before = new Set(oldCards.map(cardKey));
  current.replaceChildren(...next.childNodes);
  const fresh = newCards.filter((el) => !before.has(cardKey(el)));
  if (fresh.length === 1) {
    announce(`New room: ${fresh[0].querySelector("h3")?.textContent?.trim() ?? ""}`);
  } else if (fresh.length > 1) {
    announce(`${fresh.length} new rooms`);
  }
  if (focusKey) {
    current.querySelector(`[data-room-card="${CSS.escape(focusKey)}"] a`)?.focus();
  }
}

let inflight = null;

async function refresh() {
  if (inflight) return;
  inflight = new AbortController();
  try {
    const response = await fetch(root.dataset.refreshUrl, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: inflight.signal,
    });
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    const next = document.createElement("div");
    next.append(template.content);
    localizeTimes(next);
    morph(root, next);
  } catch {
    // Offline or navigating away: the next tick tries again.
  } finally {
    inflight = null;
  }
}

if (root) {
  setInterval(() => { if (document.visibilityState === "visible") refresh(); }, INTERVAL_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
  window.addEventListener("audiosocial:notification", () => refresh());
  window.addEventListener("pageshow", (event) => { if (event.persisted) refresh(); });
}
