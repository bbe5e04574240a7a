// Times are rendered on the server in UTC (<time datetime="ISO">); the browser shows them in the
// reader's own time zone and language.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const short = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function formatRelative(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return relative.format(0, "second");
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 86400 * 7) return relative.format(Math.round(seconds / 86400), "day");
  return short.format(date);
}

export function localizeTimes(root = document) {
  for (const el of root.querySelectorAll("time[data-local-time]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    const format = el.dataset.format;
    el.textContent = format === "relative" ? formatRelative(date)
      : format === "full" ? full.format(date) : short.format(date);
    el.title = full.format(date);
  }
}
