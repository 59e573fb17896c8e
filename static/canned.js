// Canned responses: /shortcode in the composer (issue 10).
//
// Typing "/" at the start of the message or after whitespace opens a listbox of the account's
// canned responses whose short code or content holds what follows the slash (short-code
// prefix matches first, as GET /canned_responses?search= orders them). ↑/↓ move, Enter or
// Tab inserts (replacing the "/code" text), Escape closes, a click inserts. Variables such as
// {{contact.name}} are filled in from the conversation (Chatwoot's names; unknown ones stay as
// typed). The text is inserted with setRangeText, never as HTML. Attachments are fetched as
// Files and handed to the composer with a "composer:attach" event.
//
// Keys: the listener runs on document in the CAPTURE phase and stops the keys it consumes,
// so app.js (which sends on Enter in a bubble-phase listener) never sees them while the list
// is open.
"use strict";
(() => {
  const TEXTAREA_ID = "composer-text";
  const LIST_ID = "canned-listbox";
  const MAX_SHOWN = 20;
  const STALE_MS = 30000;

  const accountId = () => document.body.dataset.accountId;
  const base = () => `/api/v1/accounts/${accountId()}`;

  let all = null; // [{id, short_code, content, attachments}]
  let loadedAt = 0;
  let loading = null;
  let popup = null;
  let listbox = null;
  let matches = [];
  let active = 0;
  let token = null; // {start, end, query} of the "/query" being typed
  let textarea = null;

  async function getJSON(url) {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(`${url}: ${resp.status}`);
    return resp.json();
  }

  function load() {
    if (loading) return loading;
    if (all && Date.now() - loadedAt < STALE_MS) return Promise.resolve(all);
    loading = getJSON(`${base()}/canned_responses`)
      .then((list) => { all = list; loadedAt = Date.now(); return list; })
      .catch(() => all || [])
      .finally(() => { loading = null; });
    return loading;
  }

  // ---- variables -------------------------------------------------------------------------

  const contexts = new Map(); // display id -> {at, values: Promise<values>}
  let profile = null;

  function threadInfo() {
    const t = document.getElementById("thread");
    return t ? { displayId: t.dataset.displayId, inboxId: t.dataset.inboxId } : null;
  }

  function words(name) {
    const parts = (name || "").trim().split(/\s+/).filter(Boolean);
    return { first: parts[0] || "", last: parts.slice(1).join(" ") };
  }

  // The values of the variables for the open conversation (fetched once per conversation).
  function variables() {
    const info = threadInfo();
    if (!info || !info.displayId) return Promise.resolve({});
    if (!profile) profile = getJSON("/api/v1/profile").catch(() => ({}));
    const cached = contexts.get(info.displayId);
    if (!cached || Date.now() - cached.at > STALE_MS) {
      const conv = getJSON(`${base()}/conversations/${encodeURIComponent(info.displayId)}`).catch(() => ({}));
      const inbox = info.inboxId
        ? getJSON(`${base()}/inboxes/${encodeURIComponent(info.inboxId)}`).catch(() => ({}))
        : Promise.resolve({});
      const p = Promise.all([conv, inbox, profile]).then(([c, i, me]) => {
        const sender = (c.meta && c.meta.sender) || {};
        const contactName = sender.name || "";
        const agentName = me.available_name || me.display_name || me.name || "";
        const cn = words(contactName);
        const an = words(agentName);
        const phone = sender.phone_number || "";
        const displayId = String(c.id || info.displayId);
        return {
          "contact.id": sender.id != null ? String(sender.id) : "",
          "contact.name": contactName,
          "contact.first_name": cn.first,
          "contact.last_name": cn.last,
          "contact.email": sender.email || "",
          "contact.phone": phone,
          "contact.phone_number": phone,
          "agent.name": agentName,
          "agent.first_name": an.first,
          "agent.last_name": an.last,
          "agent.email": me.email || "",
          "conversation.id": displayId,
          "conversation.display_id": displayId,
          "inbox.id": info.inboxId || "",
          "inbox.name": i.name || "",
        };
      });
      contexts.set(info.displayId, { at: Date.now(), values: p });
    }
    return contexts.get(info.displayId).values;
  }

  // {{ key }} → its value; unknown keys stay as typed.
  function fill(content, values) {
    return content.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole);
  }

  // ---- the popup ---------------------------------------------------------------------------

  function ensurePopup() {
    if (popup) return;
    popup = document.createElement("div");
    popup.className = "canned-popup popover";
    popup.hidden = true;
    const title = document.createElement("p");
    title.className = "canned-popup-title";
    title.id = "canned-popup-title";
    title.textContent = "Canned responses";
    listbox = document.createElement("ul");
    listbox.id = LIST_ID;
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-labelledby", title.id);
    const hint = document.createElement("p");
    hint.className = "canned-popup-hint";
    hint.textContent = "↑↓ to move · Enter or Tab to insert · Esc to close";
    popup.append(title, listbox, hint);
    // Keep the focus in the textarea while clicking an option.
    popup.addEventListener("mousedown", (e) => e.preventDefault());
    popup.addEventListener("click", (e) => {
      const li = e.target.closest("[role=option]");
      if (!li) return;
      active = Number(li.dataset.index);
      insert();
    });
    document.body.append(popup);
  }

  function setExpanded(open) {
    if (!textarea) return;
    // aria-expanded belongs to the combobox role, which the textarea takes when first opened.
    if (!open && textarea.getAttribute("role") !== "combobox") return;
    textarea.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      textarea.setAttribute("aria-controls", LIST_ID);
    } else {
      textarea.removeAttribute("aria-controls");
      if ((textarea.getAttribute("aria-activedescendant") || "").startsWith("canned-opt-")) {
        textarea.removeAttribute("aria-activedescendant");
      }
    }
  }

  function isOpen() {
    return !!popup && !popup.hidden;
  }

  function close() {
    if (popup) popup.hidden = true;
    matches = [];
    token = null;
    setExpanded(false);
  }

  function place() {
    const r = textarea.getBoundingClientRect();
    const width = Math.min(Math.max(r.width, 260), 520, window.innerWidth - 16);
    const left = Math.max(8, Math.min(r.left, window.innerWidth - width - 8));
    popup.style.width = `${width}px`;
    popup.style.left = `${left}px`;
    popup.style.bottom = `${Math.max(8, window.innerHeight - r.top + 6)}px`;
    popup.style.maxHeight = `${Math.max(120, Math.min(r.top - 16, 360))}px`;
  }

  function rank(item, q) {
    const code = item.short_code.toLowerCase();
    if (code.startsWith(q)) return 3;
    if (code.includes(q)) return 2;
    return item.content.toLowerCase().includes(q) ? 1 : 0;
  }

  function render() {
    listbox.replaceChildren();
    matches.forEach((m, i) => {
      const li = document.createElement("li");
      li.id = `canned-opt-${m.id}`;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      const code = document.createElement("span");
      code.className = "canned-opt-code";
      code.textContent = `/${m.short_code}`;
      const preview = document.createElement("span");
      preview.className = "canned-opt-preview";
      preview.dir = "auto";
      preview.textContent = m.content;
      li.append(code, preview);
      if (m.attachments && m.attachments.length) {
        const files = document.createElement("span");
        files.className = "canned-opt-files";
        files.textContent = m.attachments.length === 1 ? "1 attachment" : `${m.attachments.length} attachments`;
        li.append(files);
      }
      listbox.append(li);
    });
    const current = matches[active];
    if (current) {
      textarea.setAttribute("aria-activedescendant", `canned-opt-${current.id}`);
      const el = document.getElementById(`canned-opt-${current.id}`);
      if (el) el.scrollIntoView({ block: "nearest" });
    }
  }

  // The "/query" that ends at the caret, when the slash starts the text or follows whitespace.
  function currentToken(ta) {
    if (ta.selectionStart !== ta.selectionEnd) return null;
    const end = ta.selectionStart;
    const before = ta.value.slice(0, end);
    const m = /(^|\s)\/([^\s/]*)$/.exec(before);
    if (!m) return null;
    return { start: end - m[2].length - 1, end, query: m[2] };
  }

  async function update(ta) {
    textarea = ta;
    const t = currentToken(ta);
    if (!t) { close(); return; }
    token = t;
    const list = await load();
    // The text may have changed while the list loaded.
    const now = currentToken(ta);
    if (!now || now.query !== t.query) { if (!now) close(); return; }
    const q = t.query.toLowerCase();
    const previous = matches[active] && matches[active].id;
    matches = list
      .map((item) => ({ item, r: rank(item, q) }))
      .filter((x) => x.r > 0)
      .sort((a, b) => b.r - a.r) // stable: the API's short-code order within a rank
      .slice(0, MAX_SHOWN)
      .map((x) => x.item);
    if (!matches.length) { close(); token = t; return; }
    const keep = matches.findIndex((m) => m.id === previous);
    active = keep >= 0 ? keep : 0;
    ensurePopup();
    popup.hidden = false;
    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    setExpanded(true);
    place();
    render();
    variables(); // start fetching the values before Enter
  }

  async function attach(item) {
    if (!item.attachments || !item.attachments.length) return;
    try {
      const files = await Promise.all(item.attachments.map(async (a) => {
        const resp = await fetch(a.data_url, { credentials: "same-origin" });
        if (!resp.ok) throw new Error(`${a.file_name}: ${resp.status}`);
        const blob = await resp.blob();
        return new File([blob], a.file_name, { type: a.content_type || blob.type });
      }));
      document.dispatchEvent(new CustomEvent("composer:attach", { detail: { files } }));
    } catch (e) {
      const err = document.getElementById("composer-error");
      if (err) err.textContent = `Could not attach the canned response's files (${e.message}).`;
    }
  }

  async function insert() {
    const item = matches[active];
    const t = token;
    const ta = textarea;
    close();
    if (!item || !t || !ta) return;
    const values = await variables().catch(() => ({}));
    const text = fill(item.content, values);
    // Replace "/query" if it is still where it was.
    const still = ta.value.slice(t.start, t.end) === `/${t.query}`;
    const start = still ? t.start : ta.selectionStart;
    const end = still ? t.end : ta.selectionEnd;
    ta.focus();
    ta.setRangeText(text, start, end, "end");
    ta.dispatchEvent(new Event("input", { bubbles: true }));
    attach(item);
  }

  // ---- wiring ------------------------------------------------------------------------------

  const isComposer = (el) => el instanceof HTMLTextAreaElement && el.id === TEXTAREA_ID;

  document.addEventListener("input", (e) => {
    if (isComposer(e.target)) update(e.target);
  });
  // Caret moves (clicks, Home/End, ←/→) can leave or enter a "/code".
  document.addEventListener("click", (e) => {
    if (isComposer(e.target)) update(e.target);
  });
  document.addEventListener("keyup", (e) => {
    if (isComposer(e.target) && ["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) update(e.target);
  });
  document.addEventListener("focusout", (e) => {
    if (isComposer(e.target)) close();
  });
  window.addEventListener("resize", () => { if (isOpen()) place(); });

  document.addEventListener("keydown", (e) => {
    if (!isOpen() || !isComposer(e.target) || e.isComposing) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    let consumed = true;
    switch (e.key) {
      case "ArrowDown":
        active = (active + 1) % matches.length;
        render();
        break;
      case "ArrowUp":
        active = (active - 1 + matches.length) % matches.length;
        render();
        break;
      case "Enter":
      case "Tab":
        if (e.shiftKey) { consumed = false; break; }
        insert();
        break;
      case "Escape":
        close();
        break;
      default:
        consumed = false;
    }
    if (consumed) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // A new thread (SSE or navigation) may replace the composer: drop the stale popup state.
  document.addEventListener("thread:loaded", close);
})();
