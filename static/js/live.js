// Screen-reader announcements through the two aria-live regions in base.html.
// Polite messages queue up; an assertive one interrupts (removal, room ended, errors).

const CLEAR_AFTER_MS = 7000;

function region(assertive) {
  return document.getElementById(assertive ? "live-assertive" : "live-polite");
}

export function announce(message, { assertive = false } = {}) {
  const el = region(assertive);
  if (!el || !message) return;
  if (assertive) {
    // Re-setting identical text is not announced again; clear first.
    el.textContent = "";
    requestAnimationFrame(() => { el.textContent = message; });
    return;
  }
  const line = document.createElement("p");
  line.textContent = message;
  el.append(line);
  setTimeout(() => line.remove(), CLEAR_AFTER_MS);
}
