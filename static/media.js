// Switchboard agent UI: the Retry button of a media download that failed for good.
// Self-contained (app.js does the rest of the thread). The bubble is redrawn from the
// server-rendered, escaped message fragment; the download's completion arrives later as a
// `message.updated` event, which app.js turns into another redraw.
"use strict";

(function () {
  const accountId = document.body.dataset.accountId;
  if (!accountId) return;

  async function redraw(li) {
    const resp = await fetch(`/app/accounts/${accountId}/partials/messages/${li.dataset.messageId}`, { credentials: "same-origin" });
    if (!resp.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = await resp.text(); // server-rendered, escaped by askama
    const fresh = tpl.content.querySelector("li");
    const current = document.getElementById(li.id) || li;
    if (fresh && current.isConnected) current.replaceWith(fresh);
  }

  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-retry-download]");
    if (!btn) return;
    const box = btn.closest(".download-failed");
    const out = box ? box.querySelector(".retry-error") : null;
    const li = btn.closest("li[data-message-id]");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    btn.disabled = true;
    btn.textContent = "Retrying…";
    if (out) out.textContent = "";
    try {
      const resp = await fetch(`/api/v1/accounts/${accountId}/attachments/${btn.dataset.retryDownload}/retry_download`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!resp.ok) {
        let message = `The server answered ${resp.status}`;
        try { const j = await resp.json(); if (j && j.error) message = j.error; } catch (_) { /* not JSON */ }
        throw new Error(message);
      }
      if (li) await redraw(li);
    } catch (err) {
      if (out) out.textContent = err.message;
      btn.disabled = false;
      btn.textContent = "Retry";
    }
  });
})();
