// The notifications page: new notifications arrive at the top while the page is open.

const list = document.querySelector("[data-notification-list]");

function item(n) {
  const li = document.createElement("li");
  li.className = "unread";
  li.dataset.notification = n.id;
  const body = document.createElement("div");
  body.className = "body";
  if (n.url) {
    const link = document.createElement("a");
    link.href = n.url;
    link.textContent = n.text;
    body.append(link);
  } else {
    body.append(document.createTextNode(n.text));
  }
  const when = document.createElement("div");
  when.className = "when";
  when.textContent = "just now";
  body.append(when);
  li.append(body);
  return li;
}

if (list) {
  window.addEventListener("audiosocial:notification", (event) => {
    const n = event.detail;
    if (!n || list.querySelector(`[data-notification="${n.id}"]`)) return;
    list.querySelector("[data-empty]")?.remove();
    list.prepend(item(n));
  });
}
