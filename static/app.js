// Switchboard agent UI: progressive enhancement of the server-rendered inbox screen.
// Everything customer-written arrives as server-rendered (escaped) HTML fragments or is set
// with textContent; nothing here builds HTML from strings.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return; // the sign-in page
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const app = document.getElementById("app");

  // ---------- helpers ----------
  async function api(method, path, payload) {
    const opts = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, credentials: "same-origin" };
    if (payload instanceof FormData) {
      opts.body = payload;
    } else if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    const resp = await fetch(`/api/v1/accounts/${accountId}${path}`, opts);
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (!resp.ok) {
      const err = new Error((json && json.error) || `The server answered ${resp.status}`);
      err.status = resp.status;
      throw err;
    }
    return json;
  }

  async function fragment(path) {
    const resp = await fetch(`/app/accounts/${accountId}${path}`, { credentials: "same-origin" });
    if (!resp.ok) throw new Error(`The server answered ${resp.status}`);
    const tpl = document.createElement("template");
    tpl.innerHTML = await resp.text(); // server-rendered, escaped by askama
    return tpl.content;
  }

  function debounce(fn, ms) {
    let t = null;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  const thread = () => document.getElementById("thread");
  const activeId = () => (thread() ? thread().dataset.displayId : "");
  const listQuery = () => (app ? app.dataset.listQuery : "");
  const activeParam = () => (activeId() ? `&active=${activeId()}` : "");

  // ---------- conversation list ----------
  async function refreshList() {
    const list = document.getElementById("conversation-list");
    if (!list) return;
    try {
      const frag = await fragment(`/partials/conversations?${listQuery()}${activeParam()}`);
      list.replaceChildren(frag);
    } catch (_) { /* the next event or reconnect refreshes it */ }
  }
  const refreshListSoon = debounce(refreshList, 150);

  document.addEventListener("click", async (e) => {
    const more = e.target.closest("[data-more]");
    if (!more) return;
    e.preventDefault();
    try {
      const frag = await fragment(`/partials/conversations?${more.dataset.more}${activeParam()}`);
      const ul = document.querySelector("#conversation-list ul.conversations");
      const newRows = frag.querySelectorAll("li.conversation-row");
      newRows.forEach((li) => ul.appendChild(li));
      const next = frag.querySelector("[data-more]");
      if (next) more.replaceWith(next); else more.remove();
    } catch (err) { more.textContent = err.message; }
  });

  // ---------- thread ----------
  function scrollToEnd() {
    const list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  async function upsertMessage(messageId) {
    const list = document.getElementById("messages");
    if (!list) return;
    try {
      const frag = await fragment(`/partials/messages/${messageId}`);
      const li = frag.querySelector("li");
      if (!li) return;
      const existing = document.getElementById(`m-${messageId}`);
      if (existing) existing.replaceWith(li);
      else { list.appendChild(li); scrollToEnd(); }
    } catch (_) { /* not visible to us */ }
  }

  // Other modules show a message they sent at once (the live stream brings it too).
  window.switchboardShowMessage = upsertMessage;

  /** A live update re-renders the header and its contact panel; what the agent is in the
   *  middle of must survive it. Moves into the fresh fragment, in place of their fresh copies:
   *  the contact notes section (same contact; static/contact_notes.js keeps it current itself,
   *  with the typed note and its error), any custom attribute field that has focus or shows an
   *  error, and whichever element has focus. Returns a function that gives the focus back
   *  (with the caret) once the fragment is in the page. */
  function keepWorkInProgress(header, frag) {
    const active = document.activeElement;
    const focused = active && active !== document.body && header.contains(active) ? active : null;
    const caret = focused && typeof focused.selectionStart === "number"
      ? [focused.selectionStart, focused.selectionEnd] : null;
    const keep = [];
    const notes = header.querySelector("#contact-notes");
    const freshNotes = frag.querySelector("#contact-notes");
    if (notes && freshNotes && notes.dataset.contactId === freshNotes.dataset.contactId) keep.push(notes);
    header.querySelectorAll("[data-ca-field]").forEach((f) => {
      const err = f.querySelector("[data-ca-error]");
      if (f.contains(focused) || (err && !err.hidden)) keep.push(f);
    });
    if (focused && focused.id && !keep.some((k) => k.contains(focused))) keep.push(focused);
    keep.forEach((old) => {
      const fresh = old.id ? frag.querySelector(`#${CSS.escape(old.id)}`)
        : old.dataset.caKey ? frag.querySelector(`[data-ca-field][data-ca-key="${CSS.escape(old.dataset.caKey)}"]`) : null;
      if (fresh && fresh.parentNode && fresh.closest("[data-ca-block]")?.dataset.caEndpoint
        === old.closest("[data-ca-block]")?.dataset.caEndpoint) fresh.replaceWith(old);
    });
    return () => {
      if (!focused || !focused.isConnected || document.activeElement === focused) return;
      focused.focus({ preventScroll: true });
      if (caret) { try { focused.setSelectionRange(caret[0], caret[1]); } catch (_) { /* not a text field */ } }
    };
  }

  async function refreshHeader() {
    const t = thread();
    if (!t) return;
    try {
      const frag = await fragment(`/partials/conversations/${t.dataset.displayId}/header`);
      const header = document.getElementById("thread-header");
      const restoreFocus = keepWorkInProgress(header, frag);
      header.replaceChildren(frag);
      restoreFocus();
      applyWindowState();
    } catch (_) { /* ignore */ }
  }

  const markSeen = debounce(async () => {
    if (!activeId() || document.hidden) return;
    try {
      await api("POST", `/conversations/${activeId()}/update_last_seen`);
      refreshListSoon();
    } catch (_) { /* ignore */ }
  }, 300);

  // ---------- composer ----------
  function canReply() {
    const header = document.querySelector(".thread-header");
    return header ? header.dataset.canReply === "true" : false;
  }

  function mode() {
    const checked = document.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "reply";
  }

  function applyWindowState() {
    const text = document.getElementById("composer-text");
    const note = document.getElementById("window-closed-note");
    const file = document.getElementById("composer-file");
    if (!text) return;
    const closed = mode() === "reply" && !canReply();
    text.disabled = closed;
    if (file) file.disabled = closed;
    note.hidden = !closed;
    text.placeholder = mode() === "note"
      ? "Private note, seen only by your team… (Enter to save)"
      : "Reply… (Enter to send, Shift+Enter for a new line)";
    document.getElementById("composer").classList.toggle("note-mode", mode() === "note");
  }

  async function send(e) {
    if (e) e.preventDefault();
    const text = document.getElementById("composer-text");
    const file = document.getElementById("composer-file");
    const error = document.getElementById("composer-error");
    const sendButton = document.getElementById("composer-send");
    error.textContent = "";
    // Content transformers of other modules (e.g. @mentions → Chatwoot's mention markup).
    const content = (window.switchboardComposeHooks || []).reduce((c, hook) => hook(c, mode()), text.value);
    const files = file && file.files ? Array.from(file.files) : [];
    if (!content.trim() && !files.length) return;
    if (text.disabled) return;
    sendButton.disabled = true;
    // A reply quoting a message (static/composer.js sets it): Chatwoot's in_reply_to.
    const composer = document.getElementById("composer");
    const replyTo = composer.dataset.inReplyTo && mode() === "reply" ? composer.dataset.inReplyTo : null;
    // One WhatsApp message carries one file: a lone file takes the text as its caption,
    // several files go out one by one after the text.
    const payloadFor = (words, f, quoting) => {
      if (!f) {
        const p = { content: words, message_type: "outgoing", private: mode() === "note" };
        if (quoting) p.content_attributes = { in_reply_to: Number(quoting) };
        return p;
      }
      const p = new FormData();
      p.append("content", words);
      p.append("message_type", "outgoing");
      p.append("private", mode() === "note" ? "true" : "false");
      if (quoting) p.append("content_attributes[in_reply_to]", quoting);
      p.append("attachments[]", f);
      return p;
    };
    const payloads = files.length <= 1
      ? [payloadFor(content, files[0], replyTo)]
      : [...(content.trim() ? [payloadFor(content, null, replyTo)] : []),
        ...files.map((f, i) => payloadFor("", f, !content.trim() && i === 0 ? replyTo : null))];
    try {
      const sent = [];
      for (const payload of payloads) sent.push(await api("POST", `/conversations/${activeId()}/messages`, payload));
      text.value = "";
      if (file) { file.value = ""; document.getElementById("composer-file-name").textContent = ""; }
      document.dispatchEvent(new CustomEvent("composer:sent", { detail: { messages: sent } }));
      for (const msg of sent) await upsertMessage(msg.id);
      refreshListSoon();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      sendButton.disabled = false;
      text.focus();
    }
  }

  document.addEventListener("submit", (e) => {
    if (e.target.id === "composer") send(e);
    const labels = e.target.closest('form[data-action="labels"]');
    if (labels) {
      e.preventDefault();
      const value = labels.querySelector("input").value;
      const list = value.split(",").map((s) => s.trim()).filter(Boolean);
      act(() => api("POST", `/conversations/${activeId()}/labels`, { labels: list }));
    }
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.id === "composer-text" && e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      send(e);
      return;
    }
    // Shortcuts: Alt+J / Alt+K next / previous conversation, Alt+E resolve.
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      const key = e.key.toLowerCase();
      if (key === "j" || key === "k") {
        const rows = Array.from(document.querySelectorAll(".conversation-row a"));
        if (!rows.length) return;
        const current = rows.findIndex((a) => a.closest("li").classList.contains("active"));
        const next = key === "j" ? Math.min(rows.length - 1, current + 1) : Math.max(0, current - 1);
        e.preventDefault();
        rows[next < 0 ? 0 : next].click();
      } else if (key === "e" && activeId()) {
        e.preventDefault();
        act(() => api("POST", `/conversations/${activeId()}/toggle_status`, { status: "resolved" }));
      }
    }
  });

  document.addEventListener("change", (e) => {
    if (e.target.name === "mode") applyWindowState();
    const action = e.target.dataset ? e.target.dataset.action : null;
    if (action === "assign") {
      const id = Number(e.target.value);
      act(() => api("POST", `/conversations/${activeId()}/assignments`, { assignee_id: id || null }));
    } else if (action === "team") {
      const id = Number(e.target.value);
      act(() => api("POST", `/conversations/${activeId()}/assignments`, { team_id: id || null }));
    } else if (action === "priority") {
      act(() => api("POST", `/conversations/${activeId()}/toggle_priority`, { priority: e.target.value }));
    } else if (action === "sla") {
      // Issue 13 (SLA): apply a policy by hand (0: remove it).
      const id = Number(e.target.value);
      act(() => api("PATCH", `/conversations/${activeId()}`, { sla_policy_id: id || null }));
    }
  });

  document.addEventListener("click", (e) => {
    const btn = e.target.closest("button[data-action]");
    if (!btn) return;
    if (btn.dataset.action === "status") {
      act(() => api("POST", `/conversations/${activeId()}/toggle_status`, { status: btn.dataset.status }));
    } else if (btn.dataset.action === "unmute") {
      act(() => api("POST", `/conversations/${activeId()}/unmute`));
    } else if (btn.dataset.action === "snooze") {
      const input = document.getElementById("snooze-until");
      const until = input && input.value ? Math.floor(new Date(input.value).getTime() / 1000) : null;
      const payload = until ? { status: "snoozed", snoozed_until: until } : { status: "snoozed" };
      act(() => api("POST", `/conversations/${activeId()}/toggle_status`, payload));
    }
  });

  async function act(call) {
    const error = document.getElementById("composer-error");
    if (error) error.textContent = "";
    try {
      await call();
    } catch (err) {
      if (error) error.textContent = err.message;
    }
    await refreshHeader();
    refreshListSoon();
  }

  // ---------- template picker (the shared static/template_picker.js) ----------
  // The dialog lives in the thread fragment, which is swapped per conversation: one picker
  // per dialog element, made when it first opens.
  function pickerFor(dialog) {
    if (!dialog.switchboardPicker && window.SwitchboardTemplatePicker) {
      dialog.switchboardPicker = window.SwitchboardTemplatePicker.create({
        prefix: "tpl",
        elements: {
          search: document.getElementById("template-search"),
          list: document.getElementById("template-list"),
          form: document.getElementById("template-form"),
          name: document.getElementById("template-name"),
          fields: document.getElementById("template-fields"),
          preview: document.getElementById("template-preview"),
        },
        onChange: (ready) => { document.getElementById("template-send").disabled = !ready; },
      });
    }
    return dialog.switchboardPicker;
  }

  async function openPicker() {
    const dialog = document.getElementById("template-picker");
    const t = thread();
    if (!dialog || !t) return;
    const picker = pickerFor(dialog);
    if (!picker) return;
    document.getElementById("template-error").textContent = "";
    picker.reset();
    try {
      const inbox = await api("GET", `/inboxes/${t.dataset.inboxId}`);
      picker.setTemplates(inbox.message_templates || []);
    } catch (err) {
      picker.setTemplates([]);
      document.getElementById("template-error").textContent = err.message;
    }
    dialog.showModal();
    document.getElementById("template-search").focus();
  }

  async function sendTemplate() {
    const dialog = document.getElementById("template-picker");
    const picker = dialog && dialog.switchboardPicker;
    const payload = picker && picker.payload();
    if (!payload) return;
    const error = document.getElementById("template-error");
    error.textContent = "";
    try {
      const msg = await api("POST", `/conversations/${activeId()}/messages`, {
        content: payload.content,
        message_type: "outgoing",
        template_params: payload.template_params,
      });
      dialog.close();
      await upsertMessage(msg.id);
      refreshListSoon();
    } catch (err) {
      error.textContent = err.message;
    }
  }

  document.addEventListener("click", (e) => {
    if (e.target.id === "open-templates") openPicker();
    if (e.target.id === "template-send") sendTemplate();
  });

  // ---------- live updates (Server-Sent Events) ----------
  const connection = document.getElementById("connection");
  let source = null;
  let hadError = false;

  function onEvent(e) {
    let d = {};
    try { d = JSON.parse(e.data); } catch (_) { return; }
    const display = String(d.display_id ?? d.conversation_display_id ?? (d.conversation && d.conversation.display_id) ?? "");
    const messageId = d.message_id ?? (d.message && d.message.id);
    // Issue 14: the Reports overview (static/reports.js) recounts on conversation events.
    document.dispatchEvent(new CustomEvent("switchboard:conversation-event", { detail: e.type }));
    refreshListSoon();
    if (SIDEBAR_EVENTS.includes(e.type)) refreshSidebarSoon();
    if (!display || display !== activeId()) return;
    if ((e.type === "message.created" || e.type === "message.updated") && messageId) {
      upsertMessage(messageId);
      if (e.type === "message.created") { refreshHeader(); markSeen(); }
    } else {
      refreshHeader();
    }
  }

  function connect() {
    if (!window.EventSource) return;
    source = new EventSource(`/api/v1/accounts/${accountId}/events`);
    ["message.created", "message.updated", "conversation.created", "conversation.status_changed",
      "conversation.updated", "assignee.changed", "conversation.read",
      "sla.missed", "sla.updated"].forEach((name) => source.addEventListener(name, onEvent));
    // Availability changes: static/profile.js updates the avatar dots.
    source.addEventListener("presence.update", (e) => document.dispatchEvent(new CustomEvent("switchboard:presence", { detail: e.data })));
    // Contact notes written elsewhere: static/contact_notes.js refreshes the open panel.
    source.addEventListener("contact_note.changed", (e) =>
      document.dispatchEvent(new CustomEvent("switchboard:contact-note", { detail: e.data })));
    // Contacts created, changed, deleted or imported: static/contacts.js redraws the list.
    ["contact.created", "contact.updated", "contact.deleted", "contacts.imported"].forEach((name) =>
      source.addEventListener(name, (e) =>
        document.dispatchEvent(new CustomEvent("switchboard:contact", { detail: { type: e.type, data: e.data } }))));
    // The bell (static/notifications.js) hears this user's own notification events.
    ["notification.created", "notification.updated"].forEach((name) => source.addEventListener(name, (e) =>
      document.dispatchEvent(new CustomEvent("switchboard:notification", { detail: { type: e.type, data: e.data } }))));
    source.addEventListener("open", () => {
      connection.textContent = "";
      body.dataset.live = "connected";
      if (hadError) {
        // Back after a restart or a network break: catch up on what the replay may not cover.
        hadError = false;
        refreshList();
        refreshHeader();
        refreshSidebar();
      }
    });
    source.addEventListener("error", () => {
      hadError = true;
      body.dataset.live = "reconnecting";
      connection.textContent = "Reconnecting…";
    });
  }

  // ---------- live updates: the back/forward cache ----------
  // Chromium keeps earlier pages, with their open event streams, in its back/forward cache.
  // Each stream holds one of the browser's six HTTP/1.1 connections to this host, so after a
  // few pages the next page's requests would hang. A page that is hidden closes its stream;
  // a page restored from the cache opens a new one and catches up (as after a network break).
  function closeStream() {
    if (source) { source.close(); source = null; }
  }
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("pageshow", (e) => {
    if (!e.persisted || source) return;
    hadError = true; // refresh the list, header and sidebar once the stream is open
    connect();
  });

  // ---------- sidebar counts ----------
  // The sidebar's counts (Mine, Unassigned, All conversations, inboxes, labels, statuses)
  // follow the live events: the server renders the sidebar again for the list's filters.
  const SIDEBAR_EVENTS = ["conversation.created", "conversation.status_changed",
    "conversation.updated", "assignee.changed", "message.created"];
  // Both copies are refreshed: the sidebar, and the phone's "Filters" panel above the list.
  async function refreshSidebar() {
    const navs = Array.from(document.querySelectorAll("[data-sidebar]"));
    if (!navs.length) return;
    try {
      const frag = await fragment(`/partials/sidebar?${listQuery()}`);
      navs.forEach((nav) => {
        const focused = nav.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
        nav.replaceChildren(frag.cloneNode(true));
        if (focused) {
          const again = Array.from(nav.querySelectorAll("a")).find((a) => a.getAttribute("href") === focused);
          if (again) again.focus();
        }
      });
    } catch (_) { /* the next event or reconnect refreshes it */ }
  }
  const refreshSidebarSoon = debounce(refreshSidebar, 300);

  // ---------- settings: copy buttons ----------
  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-copy]");
    if (!btn) return;
    const source = document.getElementById(btn.dataset.copy);
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      btn.textContent = "Copied";
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      btn.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { btn.textContent = "Copy"; }, 2000);
  });

  // ---------- start ----------
  const phone = window.matchMedia("(max-width: 760px)");
  function compactOnPhone() {
    if (!phone.matches) return;
    document.querySelectorAll("details.contact-panel[open]").forEach((d) => d.removeAttribute("open"));
  }
  compactOnPhone();
  new MutationObserver(compactOnPhone).observe(document.body, { childList: true, subtree: true });
  applyWindowState();
  scrollToEnd();
  if (activeId()) markSeen();
  document.addEventListener("visibilitychange", () => { if (!document.hidden && activeId()) markSeen(); });
  connect();
})();
