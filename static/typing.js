// Issue 12 (profile-typing): tells Switchboard when an agent starts typing a reply, so the
// customer sees WhatsApp's "typing…" (POST …/conversations/{id}/toggle_typing_status,
// Chatwoot's shape). Never for a private note, never while the reply box is disabled (the
// customer service window is closed). The server keeps the real throttle (one indicator per
// conversation every 20 s, across processes); this only avoids pointless requests.
"use strict";

(function () {
  const accountId = document.body.dataset.accountId;
  if (!accountId) return;
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const EVERY_MS = 20000;
  const lastSent = new Map(); // display id → time of the last "on"

  function mode() {
    const checked = document.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "reply";
  }

  document.addEventListener("input", (e) => {
    const text = e.target;
    if (!text || text.id !== "composer-text" || text.disabled) return;
    if (mode() !== "reply" || !text.value.trim()) return;
    const thread = document.getElementById("thread");
    const id = thread && thread.dataset.displayId;
    if (!id) return;
    const now = Date.now();
    if (now - (lastSent.get(id) || 0) < EVERY_MS) return;
    lastSent.set(id, now);
    fetch(`/api/v1/accounts/${accountId}/conversations/${id}/toggle_typing_status`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
      body: JSON.stringify({ typing_status: "on", is_private: false }),
    }).catch(() => { /* best effort: the reply itself is what matters */ });
  });
})();
