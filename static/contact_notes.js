// Contact notes in the contact panel (issue 10; Chatwoot's contacts/{id}/notes): the form
// posts to /api/v1/accounts/{account}/contacts/{contact}/notes and the new note is put at the
// top of the list. The panel is swapped in again by app.js, so everything is delegated from
// document. Text is always set with textContent.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return; // the sign-in page
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  async function api(method, path, payload) {
    const opts = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, credentials: "same-origin" };
    if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    const resp = await fetch(`/api/v1/accounts/${accountId}${path}`, opts);
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (!resp.ok) {
      throw new Error((json && (json.message || json.error)) || `The server answered ${resp.status}`);
    }
    return json;
  }

  const el = (tag, className, text) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function noteItem(note) {
    const li = el("li", "contact-note");
    const p = el("p", "contact-note-text", note.content);
    p.dir = "auto";
    li.appendChild(p);
    const meta = el("p", "muted small", `${(note.user && note.user.name) || "A deleted user"} · `);
    const when = new Date((note.created_at || 0) * 1000);
    const t = el("time", "", when.toISOString());
    t.dateTime = when.toISOString();
    if (window.switchboardTime) window.switchboardTime.format(t); // static/local_time.js
    t.setAttribute("data-local-time", "");
    meta.appendChild(t);
    li.appendChild(meta);
    return li;
  }

  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "contact-note-form") return;
    ev.preventDefault();
    const section = form.closest("#contact-notes");
    const input = form.querySelector("#contact-note-input");
    const error = form.querySelector("#contact-note-error");
    const button = form.querySelector("button[type=submit]");
    if (!section || !input) return;
    error.textContent = "";
    if (!input.value.trim()) {
      error.textContent = "Write the note first.";
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const note = await api("POST", `/contacts/${section.dataset.contactId}/notes`, { content: input.value });
      const list = section.querySelector("#contact-note-list");
      list.insertBefore(noteItem(note), list.firstChild);
      const empty = section.querySelector("#contact-notes-empty");
      if (empty) empty.hidden = true;
      input.value = "";
    } catch (e) {
      error.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  });

  // ---------- live: a note added, changed or deleted elsewhere (polish10) ----------
  // app.js hands on the stream's `contact_note.changed` events ({contact_id, note_id,
  // action}); the open panel of that contact reads its notes again (the API checks who may
  // see the contact) and shows the newest ones, as the server renders them.
  const PANEL_NOTES = 20; // crate::domain::contact_notes::PANEL_NOTES
  async function reloadNotes(section) {
    try {
      const notes = await api("GET", `/contacts/${section.dataset.contactId}/notes`);
      if (!section.isConnected) return;
      const list = section.querySelector("#contact-note-list");
      list.replaceChildren(...(notes || []).slice(0, PANEL_NOTES).map(noteItem));
      const empty = section.querySelector("#contact-notes-empty");
      if (empty) empty.hidden = list.children.length > 0;
    } catch (_) { /* the next event or a reload shows them */ }
  }
  document.addEventListener("switchboard:contact-note", (ev) => {
    let d = {};
    try { d = JSON.parse(ev.detail); } catch (_) { return; }
    const section = document.getElementById("contact-notes");
    if (section && String(d.contact_id) === section.dataset.contactId) reloadNotes(section);
  });

  // Typing clears a stale error.
  document.addEventListener("input", (ev) => {
    if (ev.target instanceof HTMLTextAreaElement && ev.target.id === "contact-note-input") {
      const error = document.getElementById("contact-note-error");
      if (error) error.textContent = "";
    }
  });

  // Ctrl/Cmd+Enter in the note box adds the note (a plain Enter is a new line).
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLTextAreaElement) || t.id !== "contact-note-input") return;
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      t.form.requestSubmit();
    }
  });
})();
