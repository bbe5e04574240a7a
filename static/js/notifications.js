// The notifications page: new notifications arrive at the top while the page is open, shaped
// like the server's items (templates/notifications/_item.html): one with a link is a small form
// posting to /notifications/<id>/open/, which marks it read and then follows the link.

import { csrfToken } from "./http.js";

const list = document.querySelector("[data-notification-list]");

function openForm(n) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = `/notifications/${encodeURIComponent(n.id)}/open/`;
  form.className = "inline";
  const csrf = document.createElement("input");
  csrf.type = "hidden";
  csrf.name = "csrfmiddlewaretoken";
  csrf.value = csrfToken();
  const next = document.createElement("input");
  next.type = "hidden";
  next.name = "next";
  next.value = n.url;
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "linklike";
  button.textContent = n.text;
  form.append(csrf, next, button);
  return form;
}

function item(n) {
  const li = document.createElement("li");
  li.className = "unread";
  li.dataset.notification = n.id;
  const body = document.createElement("div");
  body.className = "body";
  if (n.url) {
    body.append(openForm(n));
  } else {
    const text = document.createElement("span");
    text.textContent = n.text;
    body.append(text);
  }
  const unread = document.createElement("span");
  unread.className = "visually-hidden";
  unread.textContent = "(unread)";
  const when = document.createElement("div");
  when.className = "when";
  when.textContent = "just now";
  body.append(unread, when);
  li.append(body);
  return li;
}

if (list) {
  window.addEventListener("audiosocial:notification", (event) => {
    const n = event.detail;
    if (!n || n.id === undefined || list.querySelector(`[data-notification="${n.id}"]`)) return;
    list.querySelector("[data-empty]")?.remove();
    list.prepend(item(n));
  });
}
