// Loaded on every page: local times, confirmations, and the notification bell kept live over
// /ws/notifications/ (new notifications also reach other modules as "audiosocial:notification").

import { api } from "./http.js";
import { announce } from "./live.js";
import { ReconnectingSocket, wsUrl } from "./socket.js";
import { localizeTimes } from "./time.js";

const CLOSE_NOT_AUTHENTICATED = 4401;

function setUnread(count) {
  const badge = document.querySelector("[data-bell-count]");
  const label = document.querySelector("[data-bell-label]");
  if (!badge) return;
  const n = Math.max(0, Number(count) || 0);
  badge.textContent = n > 99 ? "99+" : String(n);
  badge.hidden = n === 0;
  if (label) label.textContent = n ? `${n} unread` : "none unread";
}

function toast(notification) {
  let stack = document.querySelector(".toasts");
  if (!stack) {
    stack = document.createElement("div");
    stack.className = "toasts";
    document.body.append(stack);
  }
  const item = document.createElement("div");
  item.className = "toast card";
  const text = document.createElement(notification.url ? "a" : "span");
  text.textContent = notification.text;
  if (notification.url) {
    text.href = notification.url;
    // Following a notification reads it, as on the notifications page.
    text.addEventListener("click", async (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      await api("/api/notifications/read/", { method: "POST", body: { ids: [notification.id] } }).catch(() => {});
      window.location.assign(notification.url);
    });
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "small";
  close.textContent = "Dismiss";
  close.addEventListener("click", () => item.remove());
  item.append(text, close);
  stack.append(item);
  setTimeout(() => item.remove(), 8000);
}

function connectBell() {
  if (!document.body.dataset.user || !document.querySelector("[data-bell]")) return;
  const socket = new ReconnectingSocket(wsUrl("/ws/notifications/"), {
    shouldRetry: (code) => code !== CLOSE_NOT_AUTHENTICATED,
    onmessage(message) {
      if (message.type === "unread_count") {
        setUnread(message.unread_count);
      } else if (message.type === "notification") {
        setUnread(message.unread_count);
        const n = message.notification || {};
        announce(n.text);
        // In the room it is about, the room page says it better (an invitation banner).
        if (!(n.room && n.room.id === document.body.dataset.room)) toast(n);
        window.dispatchEvent(new CustomEvent("audiosocial:notification", { detail: n }));
      }
    },
  });
  socket.connect();
  window.addEventListener("pagehide", () => socket.stop());
}

function confirmForms() {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
}

localizeTimes();
confirmForms();
connectBell();
