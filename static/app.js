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

  async function refreshHeader() {
    const t = thread();
    if (!t) return;
    try {
      const frag = await fragment(`/partials/conversations/${t.dataset.displayId}/header`);
      document.getElementById("thread-header").replaceChildren(frag);
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
    }
  });

  document.addEventListener("click", (e) => {
    const btn = e.target.closest("button[data-action]");
    if (!btn) return;
    if (btn.dataset.action === "status") {
      act(() => api("POST", `/conversations/${activeId()}/toggle_status`, { status: btn.dataset.status }));
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

  // ---------- template picker ----------
  let templates = [];
  let chosen = null;

  function placeholders(text) {
    const out = [];
    const re = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
    let m;
    while ((m = re.exec(text || "")) !== null) if (!out.includes(m[1])) out.push(m[1]);
    return out;
  }
  const component = (t, type) => (t.components || []).find((c) => (c.type || "").toUpperCase() === type);
  const fill = (text, values) => (text || "").replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (all, k) => (values[k] ? values[k] : all));

  function field(id, labelText, hint) {
    const wrap = document.createElement("div");
    wrap.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    const input = document.createElement("input");
    input.id = id;
    input.autocomplete = "off";
    input.addEventListener("input", renderPreview);
    wrap.append(label, input);
    if (hint) {
      const p = document.createElement("p");
      p.className = "muted small";
      p.textContent = hint;
      wrap.append(p);
    }
    return wrap;
  }

  function renderTemplateList() {
    const q = document.getElementById("template-search").value.toLowerCase();
    const list = document.getElementById("template-list");
    list.replaceChildren();
    const shown = templates.filter((t) => {
      const bodyText = (component(t, "BODY") || {}).text || "";
      return !q || t.name.toLowerCase().includes(q) || bodyText.toLowerCase().includes(q);
    });
    if (!shown.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = templates.length ? "No template matches." : "No approved templates. An administrator can sync them in Settings.";
      list.append(li);
    }
    shown.forEach((t) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "template-choice";
      const name = document.createElement("strong");
      name.textContent = `${t.name} (${t.language})`;
      const text = document.createElement("span");
      text.className = "muted small";
      text.textContent = (component(t, "BODY") || {}).text || "";
      b.append(name, document.createElement("br"), text);
      b.addEventListener("click", () => chooseTemplate(t));
      li.append(b);
      list.append(li);
    });
  }

  function chooseTemplate(t) {
    chosen = t;
    document.getElementById("template-form").hidden = false;
    document.getElementById("template-name").textContent = `${t.name} · ${t.language} · ${t.category || ""}`;
    const fields = document.getElementById("template-fields");
    fields.replaceChildren();
    const header = component(t, "HEADER");
    if (header && (header.format || "").toUpperCase() === "TEXT") {
      placeholders(header.text).forEach((p) => fields.append(field(`tpl-header-${p}`, `Header {{${p}}}`)));
    } else if (header && ["IMAGE", "VIDEO", "DOCUMENT"].includes((header.format || "").toUpperCase())) {
      fields.append(field("tpl-header-media", `Header ${header.format.toLowerCase()} URL`, "A public https link to the file"));
    }
    placeholders((component(t, "BODY") || {}).text).forEach((p) => fields.append(field(`tpl-body-${p}`, `Body {{${p}}}`)));
    ((component(t, "BUTTONS") || {}).buttons || []).forEach((b, i) => {
      const type = (b.type || "").toUpperCase();
      if (type === "URL" && placeholders(b.url).length) fields.append(field(`tpl-button-${i}`, `Button “${b.text}” URL suffix`));
      if (type === "COPY_CODE") fields.append(field(`tpl-button-${i}`, `Button “${b.text || "Copy code"}” code`));
    });
    renderPreview();
    const first = fields.querySelector("input");
    if (first) first.focus();
  }

  function collect() {
    const t = chosen;
    const value = (id) => { const el = document.getElementById(id); return el ? el.value.trim() : ""; };
    const bodyText = (component(t, "BODY") || {}).text || "";
    const body = {};
    placeholders(bodyText).forEach((p) => { body[p] = value(`tpl-body-${p}`); });
    const header = {};
    const h = component(t, "HEADER");
    if (h && (h.format || "").toUpperCase() === "TEXT") placeholders(h.text).forEach((p) => { header[p] = value(`tpl-header-${p}`); });
    if (h && ["IMAGE", "VIDEO", "DOCUMENT"].includes((h.format || "").toUpperCase())) {
      header.media_url = value("tpl-header-media");
      header.media_type = h.format.toLowerCase();
    }
    const buttons = [];
    ((component(t, "BUTTONS") || {}).buttons || []).forEach((b, i) => {
      const type = (b.type || "").toUpperCase();
      if (type === "URL" && placeholders(b.url).length) buttons.push({ type: "url", parameter: value(`tpl-button-${i}`), index: i });
      if (type === "COPY_CODE") buttons.push({ type: "copy_code", parameter: value(`tpl-button-${i}`), index: i });
    });
    const processed = { body };
    if (Object.keys(header).length) processed.header = header;
    if (buttons.length) processed.buttons = buttons;
    return { body, processed, bodyText };
  }

  function renderPreview() {
    if (!chosen) return;
    const { body, processed, bodyText } = collect();
    document.getElementById("template-preview").textContent = fill(bodyText, body);
    const missing = Object.entries(body).filter(([, v]) => !v).length
      + (processed.header && processed.header.media_url === "" ? 1 : 0)
      + (processed.buttons || []).filter((b) => !b.parameter).length;
    document.getElementById("template-send").disabled = missing > 0;
  }

  async function openPicker() {
    const dialog = document.getElementById("template-picker");
    const t = thread();
    if (!dialog || !t) return;
    document.getElementById("template-error").textContent = "";
    document.getElementById("template-form").hidden = true;
    chosen = null;
    try {
      const inbox = await api("GET", `/inboxes/${t.dataset.inboxId}`);
      templates = (inbox.message_templates || []).filter((x) => x.status === "APPROVED");
    } catch (err) {
      templates = [];
      document.getElementById("template-error").textContent = err.message;
    }
    renderTemplateList();
    dialog.showModal();
    document.getElementById("template-search").focus();
  }

  async function sendTemplate() {
    if (!chosen) return;
    const { body, processed, bodyText } = collect();
    const error = document.getElementById("template-error");
    error.textContent = "";
    try {
      const msg = await api("POST", `/conversations/${activeId()}/messages`, {
        content: fill(bodyText, body),
        message_type: "outgoing",
        template_params: { name: chosen.name, language: chosen.language, category: chosen.category, processed_params: processed },
      });
      document.getElementById("template-picker").close();
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
  document.addEventListener("input", (e) => { if (e.target.id === "template-search") renderTemplateList(); });

  // ---------- live updates (Server-Sent Events) ----------
  const connection = document.getElementById("connection");
  let source = null;
  let hadError = false;

  function onEvent(e) {
    let d = {};
    try { d = JSON.parse(e.data); } catch (_) { return; }
    const display = String(d.display_id ?? d.conversation_display_id ?? (d.conversation && d.conversation.display_id) ?? "");
    const messageId = d.message_id ?? (d.message && d.message.id);
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
      "conversation.updated", "assignee.changed", "conversation.read"].forEach((name) => source.addEventListener(name, onEvent));
    // Availability changes: static/profile.js updates the avatar dots.
    source.addEventListener("presence.update", (e) => document.dispatchEvent(new CustomEvent("switchboard:presence", { detail: e.data })));
    // Contact notes written elsewhere: static/contact_notes.js refreshes the open panel.
    source.addEventListener("contact_note.changed", (e) =>
      document.dispatchEvent(new CustomEvent("switchboard:contact-note", { detail: e.data })));
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
