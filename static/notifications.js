// Notification centre behind the bell, @mentions in private notes, and the participants of a
// conversation (issue 10). Everything customer- or agent-written is set with textContent.
//
// Contracts with static/app.js: it dispatches `switchboard:notification` (detail: {type, data})
// for this user's `notification.*` SSE events, and applies `window.switchboardComposeHooks`
// (content transformers `(content, mode) => content`) just before a message is posted.
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
      const err = new Error((json && json.error) || `The server answered ${resp.status}`);
      err.status = resp.status;
      throw err;
    }
    return json;
  }

  const el = (tag, className, text) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function timeAgo(unix) {
    const s = Math.max(0, Math.floor(Date.now() / 1000 - unix));
    if (s < 60) return "just now";
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  const conversationUrl = (displayId) => `/app/accounts/${accountId}/conversations/${displayId}`;

  // ---------- the bell ----------
  const bell = document.getElementById("bell");
  const bellButton = document.getElementById("bell-button");
  const bellPanel = document.getElementById("bell-panel");
  const bellCount = document.getElementById("bell-count");
  const bellList = document.getElementById("bell-list");
  let unread = 0;

  function setCount(n) {
    unread = Math.max(0, Number(n) || 0);
    if (!bellButton) return;
    bellCount.textContent = unread > 99 ? "99+" : String(unread);
    bellCount.hidden = unread === 0;
    bellButton.setAttribute("aria-label", `Notifications, ${unread} unread`);
    bellButton.dataset.unread = String(unread);
  }

  async function fetchCount() {
    try { setCount(await api("GET", "/notifications/unread_count")); } catch (_) { /* next event retries */ }
  }

  const TYPE_LABEL = {
    conversation_assignment: "Assigned to you",
    conversation_mention: "Mentioned you",
    assigned_conversation_new_message: "New message",
    participating_conversation_new_message: "New message",
    conversation_creation: "New conversation",
  };

  function item(n) {
    const li = el("li", `bell-item${n.read_at ? "" : " unread"}`);
    li.dataset.notificationId = n.id;
    const link = el("a", "bell-link");
    link.href = conversationUrl(n.primary_actor_id);
    link.dataset.notificationId = n.id;
    const dot = el("span", "bell-dot");
    dot.setAttribute("aria-hidden", "true");
    const text = el("span", "bell-text");
    const what = el("span", "bell-what", TYPE_LABEL[n.notification_type] || "Notification");
    const title = el("span", "bell-title", n.push_message_title || "");
    const sender = (n.primary_actor && n.primary_actor.meta && n.primary_actor.meta.sender) || {};
    const who = (n.secondary_actor && (n.secondary_actor.name || n.secondary_actor.sender_name)) || "";
    const meta = el("span", "bell-meta muted small",
      [`#${n.primary_actor_id}`, sender.name, who ? `by ${who}` : "", timeAgo(n.created_at)].filter(Boolean).join(" · "));
    text.append(what, title, meta);
    if (!n.read_at) text.append(el("span", "visually-hidden", " (unread)"));
    link.append(dot, text);
    li.append(link);
    if (!n.read_at) {
      const read = el("button", "bell-read", "Mark read");
      read.type = "button";
      read.dataset.readNotification = n.id;
      read.setAttribute("aria-label", `Mark read: “${n.push_message_title || "notification"}”`);
      li.append(read);
    }
    return li;
  }

  // "Load more" under the list: the next 15, older than the last one shown (a cursor on the
  // notification id, `meta.next_before`), so new notifications never shift the pages.
  const bellMore = document.getElementById("bell-more");
  function setMore(nextBefore) {
    if (!bellMore) return;
    bellMore.hidden = nextBefore === null || nextBefore === undefined;
    bellMore.dataset.before = bellMore.hidden ? "" : String(nextBefore);
  }

  async function loadList() {
    const error = document.getElementById("bell-error");
    error.textContent = "";
    try {
      const res = await api("GET", "/notifications");
      const data = res.data;
      setCount(data.meta.unread_count);
      bellList.replaceChildren(...data.payload.map(item));
      setMore(data.meta.next_before);
      document.getElementById("bell-empty").hidden = data.payload.length > 0;
    } catch (err) {
      error.textContent = err.message;
    }
  }

  async function loadMore() {
    const error = document.getElementById("bell-error");
    error.textContent = "";
    const before = bellMore.dataset.before;
    if (!before) return;
    bellMore.disabled = true;
    try {
      const data = (await api("GET", `/notifications?before=${encodeURIComponent(before)}`)).data;
      const added = data.payload.map(item);
      bellList.append(...added);
      setMore(data.meta.next_before);
      // Keyboard users carry on from the first one added.
      const first = added.length && added[0].querySelector(".bell-link");
      if (first && (bellMore.hidden || document.activeElement === bellMore)) first.focus();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      bellMore.disabled = false;
    }
  }
  if (bellMore) bellMore.addEventListener("click", loadMore);

  function bellOpen() { return bellPanel && !bellPanel.hidden; }

  function openBell() {
    bellPanel.hidden = false;
    bellButton.setAttribute("aria-expanded", "true");
    loadList().then(() => {
      const first = bellPanel.querySelector(".bell-link, #bell-read-all");
      if (first && bell.contains(document.activeElement)) first.focus();
    });
  }

  function closeBell(focusButton) {
    if (!bellOpen()) return;
    bellPanel.hidden = true;
    bellButton.setAttribute("aria-expanded", "false");
    if (focusButton) bellButton.focus();
  }

  if (bellButton) {
    bellButton.addEventListener("click", () => (bellOpen() ? closeBell(false) : openBell()));
    document.getElementById("bell-read-all").addEventListener("click", async () => {
      try {
        await api("POST", "/notifications/read_all");
        await loadList();
      } catch (err) { document.getElementById("bell-error").textContent = err.message; }
    });
    bellPanel.addEventListener("click", async (e) => {
      const read = e.target.closest("[data-read-notification]");
      if (read) {
        try {
          await api("PATCH", `/notifications/${read.dataset.readNotification}`);
          await loadList();
        } catch (err) { document.getElementById("bell-error").textContent = err.message; }
        return;
      }
      const link = e.target.closest("a.bell-link");
      if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      try { await api("PATCH", `/notifications/${link.dataset.notificationId}`); } catch (_) { /* still open it */ }
      window.location.href = link.href;
    });
    document.addEventListener("click", (e) => { if (bellOpen() && !bell.contains(e.target)) closeBell(false); });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && bellOpen()) { e.preventDefault(); closeBell(true); }
    });
    document.addEventListener("switchboard:notification", () => {
      if (bellOpen()) loadList(); else fetchCount();
    });
    fetchCount();
  }

  // ---------- @mentions in private notes ----------
  // Candidates per inbox: the agents who can see it, and the account's teams.
  const candidateCache = new Map();
  async function candidates(inboxId) {
    if (!candidateCache.has(inboxId)) {
      candidateCache.set(inboxId, Promise.all([
        api("GET", `/assignable_agents?inbox_ids[]=${encodeURIComponent(inboxId)}`),
        api("GET", "/teams"),
      ]).then(([agents, teams]) => [
        ...(agents.payload || []).map((a) => ({ kind: "user", id: a.id, name: a.available_name || a.name, detail: a.email || "" })),
        ...(teams || []).map((t) => ({ kind: "team", id: t.id, name: t.name, detail: "Team" })),
      ]).catch((err) => { candidateCache.delete(inboxId); throw err; }));
    }
    return candidateCache.get(inboxId);
  }

  // Readable `@Name` text in the textarea → Chatwoot's markup, applied on send.
  const inserted = new Map(); // label ("@Name") → markup
  const markup = (c) => `[@${c.name}](mention://${c.kind}/${c.id}/${encodeURIComponent(c.name)})`;
  const wordChar = /[\p{L}\p{N}_]/u;

  function toMarkup(content) {
    if (!inserted.size) return content;
    const labels = Array.from(inserted.keys()).sort((a, b) => b.length - a.length);
    let out = "";
    let i = 0;
    while (i < content.length) {
      const label = content[i] === "@" ? labels.find((l) => content.startsWith(l, i) && !wordChar.test(content[i + l.length] || "")) : null;
      if (label) { out += inserted.get(label); i += label.length; } else { out += content[i]; i += 1; }
    }
    return out;
  }
  window.switchboardComposeHooks = window.switchboardComposeHooks || [];
  window.switchboardComposeHooks.push((content, mode) => (mode === "note" ? toMarkup(content) : content));

  const isNoteMode = () => {
    const checked = document.querySelector('input[name="mode"]:checked');
    return checked && checked.value === "note";
  };

  let mention = null; // {start, query, options: [...], active}

  function mentionList() {
    let list = document.getElementById("mention-options");
    if (!list) {
      const composer = document.getElementById("composer");
      if (!composer) return null;
      list = el("ul", "mention-options mention-popup");
      list.id = "mention-options";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Mention an agent or a team");
      list.hidden = true;
      composer.prepend(list);
    }
    return list;
  }

  function closeMention() {
    mention = null;
    const list = document.getElementById("mention-options");
    if (list) { list.hidden = true; list.replaceChildren(); }
    const text = document.getElementById("composer-text");
    if (text) {
      // aria-expanded belongs to the combobox role, which the textarea takes when first opened.
      if (text.getAttribute("role") === "combobox") text.setAttribute("aria-expanded", "false");
      text.removeAttribute("aria-activedescendant");
    }
  }

  function renderOptions(list, options, active, idPrefix, onPick) {
    list.replaceChildren(...options.map((c, i) => {
      const li = el("li", "mention-option");
      li.id = `${idPrefix}-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      const name = el("span", "mention-name", c.kind === "team" ? `@${c.name}` : c.name);
      const detail = el("span", "muted small", c.detail);
      li.append(name, detail);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); onPick(c); });
      return li;
    }));
    if (!options.length) list.append(el("li", "mention-empty muted small", "No agent or team matches"));
    const current = list.querySelector('[aria-selected="true"]');
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function showMention() {
    const text = document.getElementById("composer-text");
    const list = mentionList();
    if (!mention || !text || !list) return;
    renderOptions(list, mention.options, mention.active, "mention-option", insertMention);
    list.hidden = false;
    text.setAttribute("role", "combobox");
    text.setAttribute("aria-controls", "mention-options");
    text.setAttribute("aria-expanded", "true");
    text.setAttribute("aria-autocomplete", "list");
    if (mention.options.length) text.setAttribute("aria-activedescendant", `mention-option-${mention.active}`);
    else text.removeAttribute("aria-activedescendant");
  }

  function matches(list, query) {
    const q = query.toLowerCase();
    return list
      .filter((c) => !q || c.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || c.name.toLowerCase().startsWith(q))
      .slice(0, 8);
  }

  async function onComposerInput() {
    const text = document.getElementById("composer-text");
    const thread = document.getElementById("thread");
    if (!text || !thread || !isNoteMode()) { closeMention(); return; }
    const before = text.value.slice(0, text.selectionStart);
    const m = /(^|\s)@([^\s@]{0,40})$/u.exec(before);
    if (!m) { closeMention(); return; }
    const query = m[2];
    const start = before.length - query.length - 1;
    let all;
    try { all = await candidates(thread.dataset.inboxId); } catch (_) { closeMention(); return; }
    // The text may have changed while the candidates loaded.
    const again = /(^|\s)@([^\s@]{0,40})$/u.exec(text.value.slice(0, text.selectionStart));
    if (!again || again[2] !== query) return;
    mention = { start, query, options: matches(all, query), active: 0 };
    showMention();
  }

  function insertMention(c) {
    const text = document.getElementById("composer-text");
    if (!mention || !text) return;
    const label = `@${c.name}`;
    inserted.set(label, markup(c));
    const end = mention.start + 1 + mention.query.length;
    text.setRangeText(`${label} `, mention.start, end, "end");
    closeMention();
    text.focus();
    text.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("input", (e) => {
    if (e.target.id === "composer-text") onComposerInput();
  });
  document.addEventListener("change", (e) => { if (e.target.name === "mode" && !isNoteMode()) closeMention(); });
  document.addEventListener("focusout", (e) => {
    if (e.target.id === "composer-text") setTimeout(() => { if (document.activeElement !== e.target) closeMention(); }, 150);
  });

  // Capture phase: while the list is open, Enter/Tab insert (they must not send), arrows move,
  // Escape closes. app.js sends on Enter in a bubble-phase listener.
  document.addEventListener("keydown", (e) => {
    if (!mention || e.target.id !== "composer-text" || e.isComposing) return;
    const n = mention.options.length;
    let consumed = true;
    if (e.key === "ArrowDown" && n) mention.active = (mention.active + 1) % n;
    else if (e.key === "ArrowUp" && n) mention.active = (mention.active - 1 + n) % n;
    else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey) {
      if (n) insertMention(mention.options[mention.active]); else closeMention();
      return stop(e);
    }
    else if (e.key === "Escape") { closeMention(); return stop(e); }
    else consumed = false;
    if (consumed) { showMention(); stop(e); }
  }, true);

  function stop(e) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  // ---------- participants (contact panel) ----------
  let picker = null; // {options, active}

  function participantRow(a) {
    const li = el("li", "participant");
    li.dataset.userId = a.id;
    const name = el("span", "participant-name", a.available_name || a.name);
    const remove = el("button", "participant-remove", "×");
    remove.type = "button";
    remove.dataset.removeParticipant = a.id;
    remove.setAttribute("aria-label", `Remove ${a.available_name || a.name} from the participants`);
    li.append(name, document.createTextNode(" "), remove);
    return li;
  }

  function showParticipants(agents) {
    const list = document.getElementById("participant-list");
    if (!list) return;
    list.replaceChildren(...agents.map(participantRow));
    document.getElementById("participants-empty").hidden = agents.length > 0;
  }

  const activeDisplayId = () => { const t = document.getElementById("thread"); return t ? t.dataset.displayId : ""; };

  async function changeParticipants(method, ids) {
    const error = document.getElementById("participants-error");
    if (error) error.textContent = "";
    try {
      await api(method, `/conversations/${activeDisplayId()}/participants`, { user_ids: ids });
      showParticipants(await api("GET", `/conversations/${activeDisplayId()}/participants`));
    } catch (err) {
      if (error) error.textContent = err.message;
    }
  }

  function closePicker(focusButton) {
    const box = document.getElementById("participant-picker");
    const button = document.getElementById("participant-add");
    picker = null;
    if (box) box.hidden = true;
    if (button) {
      button.setAttribute("aria-expanded", "false");
      if (focusButton) button.focus();
    }
  }

  async function renderPicker() {
    const input = document.getElementById("participant-search");
    const list = document.getElementById("participant-options");
    const thread = document.getElementById("thread");
    if (!input || !list || !thread) return;
    let all = [];
    try { all = (await candidates(thread.dataset.inboxId)).filter((c) => c.kind === "user"); } catch (err) {
      document.getElementById("participants-error").textContent = err.message;
    }
    const taken = new Set(Array.from(document.querySelectorAll("#participant-list [data-user-id]")).map((li) => Number(li.dataset.userId)));
    const options = matches(all.filter((c) => !taken.has(c.id)), input.value.trim());
    picker = { options, active: Math.min(picker ? picker.active : 0, Math.max(0, options.length - 1)) };
    renderOptions(list, options, picker.active, "participant-option", (c) => { closePicker(true); changeParticipants("POST", [c.id]); });
    input.setAttribute("aria-expanded", "true");
    if (options.length) input.setAttribute("aria-activedescendant", `participant-option-${picker.active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  document.addEventListener("click", (e) => {
    const remove = e.target.closest("[data-remove-participant]");
    if (remove) { changeParticipants("DELETE", [Number(remove.dataset.removeParticipant)]); return; }
    if (e.target.closest("#participant-add")) {
      const box = document.getElementById("participant-picker");
      if (!box.hidden) { closePicker(false); return; }
      box.hidden = false;
      e.target.closest("#participant-add").setAttribute("aria-expanded", "true");
      const input = document.getElementById("participant-search");
      input.value = "";
      picker = null;
      renderPicker();
      input.focus();
      return;
    }
    if (picker && !e.target.closest("#participant-picker")) closePicker(false);
  });
  document.addEventListener("input", (e) => { if (e.target.id === "participant-search") renderPicker(); });
  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "participant-search" || !picker) return;
    const n = picker.options.length;
    if (e.key === "ArrowDown" && n) { picker.active = (picker.active + 1) % n; renderPicker(); stop(e); }
    else if (e.key === "ArrowUp" && n) { picker.active = (picker.active - 1 + n) % n; renderPicker(); stop(e); }
    else if (e.key === "Enter" && n) { const c = picker.options[picker.active]; closePicker(true); changeParticipants("POST", [c.id]); stop(e); }
    else if (e.key === "Escape") { closePicker(true); stop(e); }
  }, true);
})();
