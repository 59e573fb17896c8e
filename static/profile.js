// Availability dots that follow `presence.update` (issue 10, profile): static/app.js relays the
// SSE event as a `switchboard:presence` DOM event whose detail is the event's JSON text; every
// avatar of that agent (`.avatar-wrap[data-user-id]`, from templates/partials/avatar.html)
// gets the new dot. Text only (textContent), never HTML.
"use strict";
(function () {
  const VALUES = ["online", "busy", "offline"];

  function update(userId, availability) {
    if (!VALUES.includes(availability)) return;
    document.querySelectorAll(`.avatar-wrap[data-user-id="${CSS.escape(String(userId))}"]`).forEach((wrap) => {
      let dot = wrap.querySelector(".presence");
      if (!dot) {
        dot = document.createElement("span");
        const label = document.createElement("span");
        label.className = "visually-hidden";
        dot.appendChild(label);
        wrap.appendChild(dot);
      }
      dot.className = `presence presence-${availability}`;
      dot.dataset.presence = availability;
      dot.title = availability;
      const label = dot.querySelector(".visually-hidden");
      if (label) label.textContent = availability;
    });
  }

  document.addEventListener("switchboard:presence", (e) => {
    let d = {};
    try { d = JSON.parse(e.detail); } catch (_) { return; }
    if (d && d.user_id != null) update(d.user_id, d.availability);
  });
})();
