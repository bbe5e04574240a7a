// The start-a-room form: the date field only matters for "Schedule for later", and the browser's
// time zone goes along so the server reads the local time the host typed.

const form = document.querySelector("[data-start-room]");
if (form) {
  const tz = form.querySelector("input[name=tz]");
  if (tz) tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const later = form.querySelector("[data-when-later]");
  const submit = form.querySelector("[data-submit]");
  const input = later?.querySelector("input");
  const sync = () => {
    const scheduled = form.querySelector("input[name=when]:checked")?.value === "later";
    if (later) later.hidden = !scheduled;
    if (input) input.required = scheduled;
    if (submit) submit.textContent = scheduled ? "Schedule the room" : "Start the room";
  };
  form.addEventListener("change", sync);
  sync();
}
