// Workspace layout: contact panel, phone menu, keyboard help and command palette (issue 10).
// Nothing here builds HTML from strings: elements are created and filled with textContent.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return; // the sign-in page
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const app = document.getElementById("app");
  const PANEL_KEY = "switchboard.contactPanel"; // "collapsed" or "open"
  // At or below this width the contact panel is a sheet over the thread, not a column.
  const sheetWidth = window.matchMedia("(max-width: 1180px)");
  const phone = window.matchMedia("(max-width: 760px)");

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
    if (!resp.ok) throw new Error((json && json.error) || `The server answered ${resp.status}`);
    return json;
  }

  const isTyping = (el) => !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  // ---------- toasts ----------
  /** Shows `message` for a few seconds; `kind` is "info" (default), "success" or "error".
   *  Other modules call it as `window.switchboardToast(message, kind)`. */
  function toast(message, kind) {
    const region = document.getElementById("toasts");
    if (!region) return;
    const el = document.createElement("div");
    el.className = `toast ${kind || "info"}`;
    el.textContent = message;
    region.append(el);
    setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
  }
  window.switchboardToast = toast;

  // ---------- primary navigation ----------
  const path = location.pathname;
  document.querySelectorAll(".topnav a[data-nav]").forEach((a) => {
    const nav = a.dataset.nav;
    const here = (nav === "conversations" && /\/conversations(\/|$)/.test(path))
      || (nav === "search" && /\/(search|contacts)(\/|$)/.test(path))
      || (nav === "settings" && path.includes("/settings/"))
      || (nav === "reports" && /\/reports(\/|$)/.test(path))
      || (nav === "profile" && path.endsWith("/profile"));
    if (here) a.setAttribute("aria-current", "page");
  });

  const rail = document.getElementById("rail");
  const menuButton = document.getElementById("menu-button");
  function setMenu(open) {
    if (!rail || !menuButton) return;
    rail.classList.toggle("menu-open", open);
    menuButton.setAttribute("aria-expanded", String(open));
    if (open) {
      const first = rail.querySelector(".rail-menu a, .rail-menu button");
      if (first) first.focus();
    }
  }
  if (menuButton) menuButton.addEventListener("click", () => setMenu(!rail.classList.contains("menu-open")));
  document.addEventListener("click", (e) => {
    if (rail && rail.classList.contains("menu-open") && !rail.contains(e.target)) setMenu(false);
  });

  // ---------- local times ----------
  // One formatting for every <time datetime>: static/local_time.js.
  function localTimes(root) {
    if (window.switchboardTime) window.switchboardTime.formatAll(root || document);
  }

  // ---------- contact panel ----------
  const collapsed = () => localStorage.getItem(PANEL_KEY) === "collapsed";
  function panelShown() {
    if (!app) return false;
    return sheetWidth.matches ? app.classList.contains("sheet-open") : !app.classList.contains("panel-collapsed");
  }
  function syncPanel() {
    if (!app) return;
    app.classList.toggle("panel-collapsed", collapsed());
    const shown = panelShown();
    document.querySelectorAll("[data-panel-toggle]").forEach((b) => b.setAttribute("aria-expanded", String(shown)));
  }
  function togglePanel() {
    if (!app) return;
    if (sheetWidth.matches) {
      const open = !app.classList.contains("sheet-open");
      app.classList.toggle("sheet-open", open);
      if (open) {
        const close = document.querySelector(".contact-panel [data-panel-close]");
        if (close) close.focus();
      }
    } else {
      localStorage.setItem(PANEL_KEY, collapsed() ? "open" : "collapsed");
    }
    syncPanel();
  }
  function closeSheet() {
    if (!app || !app.classList.contains("sheet-open")) return false;
    app.classList.remove("sheet-open");
    syncPanel();
    const toggle = document.querySelector("[data-panel-toggle]");
    if (toggle) toggle.focus();
    return true;
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-panel-toggle]")) togglePanel();
    else if (e.target.closest("[data-panel-close]")) closeSheet();
    else if (app && app.classList.contains("sheet-open") && !e.target.closest(".contact-panel")) closeSheet();
  });
  sheetWidth.addEventListener("change", () => { if (app) app.classList.remove("sheet-open"); syncPanel(); });

  // ---------- dropdown menus (snooze) ----------
  let openMenuId = null; // re-opened after a live header swap
  function closeMenus(except) {
    if (!except) openMenuId = null;
    document.querySelectorAll("[data-menu]").forEach((wrap) => {
      if (wrap === except) return;
      const menu = wrap.querySelector(".menu");
      const trigger = wrap.querySelector(".menu-trigger");
      if (menu && !menu.hidden) {
        menu.hidden = true;
        if (trigger) trigger.setAttribute("aria-expanded", "false");
      }
    });
  }
  function openMenu(wrap) {
    const menu = wrap.querySelector(".menu");
    const trigger = wrap.querySelector(".menu-trigger");
    closeMenus(wrap);
    openMenuId = menu.id || null;
    menu.hidden = false;
    trigger.setAttribute("aria-expanded", "true");
    fillPresetHints(menu);
    const pick = menu.querySelector(".snooze-pick");
    if (pick) pick.hidden = true;
    const first = menu.querySelector('[role="menuitem"]:not([disabled])');
    if (first) first.focus();
  }
  document.addEventListener("click", (e) => {
    const trigger = e.target.closest("[data-menu] .menu-trigger");
    if (trigger) {
      const wrap = trigger.closest("[data-menu]");
      if (wrap.querySelector(".menu").hidden) openMenu(wrap); else closeMenus();
      return;
    }
    if (!e.target.closest("[data-menu]")) closeMenus();
  });
  document.addEventListener("keydown", (e) => {
    const menu = e.target.closest && e.target.closest("[data-menu] .menu");
    if (!menu || !["ArrowDown", "ArrowUp", "Home", "End"].includes(e.key) || e.target.tagName === "INPUT") return;
    const items = Array.from(menu.querySelectorAll('[role="menuitem"]:not([disabled])'));
    const at = items.indexOf(document.activeElement);
    let next = at;
    if (e.key === "ArrowDown") next = (at + 1) % items.length;
    if (e.key === "ArrowUp") next = (at - 1 + items.length) % items.length;
    if (e.key === "Home") next = 0;
    if (e.key === "End") next = items.length - 1;
    e.preventDefault();
    if (items[next]) items[next].focus();
  });

  // ---------- snooze presets ----------
  // Computed in the browser's time zone:
  //   hour      now + 1 hour (to the minute);
  //   tonight   today 18:00, or 21:00 once 18:00 is less than 30 minutes away; none after 20:30;
  //   tomorrow  tomorrow 09:00;
  //   next_week the next Monday 09:00 (a week ahead when today is Monday).
  function presetTime(kind, now) {
    const d = new Date(now.getTime());
    d.setSeconds(0, 0);
    if (kind === "hour") return new Date(d.getTime() + 3600 * 1000);
    if (kind === "tonight") {
      for (const h of [18, 21]) {
        const t = new Date(d.getTime());
        t.setHours(h, 0, 0, 0);
        if (t.getTime() - now.getTime() >= 30 * 60 * 1000) return t;
      }
      return null;
    }
    if (kind === "tomorrow") {
      d.setDate(d.getDate() + 1);
      d.setHours(9, 0, 0, 0);
      return d;
    }
    if (kind === "next_week") {
      const days = ((8 - d.getDay()) % 7) || 7; // Sunday 0 → 1 day, Monday 1 → 7 days
      d.setDate(d.getDate() + days);
      d.setHours(9, 0, 0, 0);
      return d;
    }
    return null;
  }
  function fillPresetHints(root) {
    const now = new Date();
    root.querySelectorAll("[data-preset-hint]").forEach((span) => {
      const t = presetTime(span.dataset.presetHint, now);
      span.textContent = t && window.switchboardTime ? window.switchboardTime.text(t, "weekday") : "";
      const item = span.closest("[data-snooze-preset]");
      if (item) item.disabled = !t;
    });
  }
  const pad = (n) => String(n).padStart(2, "0");
  const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

  /** Snoozes the open conversation until the preset `kind` (see presetTime) through the
   *  header's snooze control, which app.js sends as `snoozed_until` in unix seconds. */
  function snoozePreset(kind) {
    const t = presetTime(kind, new Date());
    const input = document.getElementById("snooze-until");
    const go = document.querySelector('button[data-action="snooze"]');
    if (!t || !input || !go) return false;
    input.value = localInput(t);
    go.click();
    closeMenus();
    toast(`Snoozed until ${timeFormat.format(t)}`, "success");
    return true;
  }
  document.addEventListener("click", (e) => {
    const item = e.target.closest("[data-snooze-preset]");
    if (!item) return;
    if (item.dataset.snoozePreset === "pick") {
      const pick = item.parentElement.querySelector(".snooze-pick");
      pick.hidden = false;
      const input = pick.querySelector("input");
      if (!input.value) input.value = localInput(presetTime("tomorrow", new Date()));
      input.focus();
    } else {
      snoozePreset(item.dataset.snoozePreset);
    }
  });

  // ---------- label picker (combobox) ----------
  let refocusLabels = false;
  const labelInput = () => document.getElementById("labels-input");
  function currentLabels() {
    const input = labelInput();
    return input ? input.value.split(",").map((s) => s.trim()).filter(Boolean) : [];
  }
  /** Adds or removes `title` and sends the full list (POST …/labels, through app.js's
   *  labels form, which refreshes the header and panel afterwards). */
  function toggleLabel(title, wanted) {
    const input = labelInput();
    if (!input) return;
    const list = currentLabels();
    const has = list.some((l) => l.toLowerCase() === title.toLowerCase());
    const on = wanted === undefined ? !has : wanted;
    const next = on ? (has ? list : list.concat([title])) : list.filter((l) => l.toLowerCase() !== title.toLowerCase());
    input.value = next.join(", ");
    input.form.requestSubmit();
  }
  function labelOptions() { return Array.from(document.querySelectorAll("#label-options [role=option]")); }
  function showOptions(open) {
    const box = document.getElementById("label-options");
    const search = document.getElementById("label-search");
    if (!box || !search) return;
    box.hidden = !open;
    search.setAttribute("aria-expanded", String(open));
    if (!open) search.removeAttribute("aria-activedescendant");
  }
  function filterOptions() {
    const search = document.getElementById("label-search");
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    labelOptions().forEach((o) => {
      const hit = !q || o.dataset.label.toLowerCase().includes(q);
      o.hidden = !hit;
      if (hit) shown += 1;
    });
    const empty = document.querySelector("#label-options .option-empty");
    if (empty) empty.hidden = shown > 0;
    const visible = labelOptions().filter((o) => !o.hidden);
    setCurrent(visible[0] || null);
    showOptions(true);
  }
  function setCurrent(option) {
    const search = document.getElementById("label-search");
    labelOptions().forEach((o) => o.classList.toggle("current", o === option));
    if (option) { search.setAttribute("aria-activedescendant", option.id); option.scrollIntoView({ block: "nearest" }); }
    else search.removeAttribute("aria-activedescendant");
  }
  document.addEventListener("focusin", (e) => { if (e.target.id === "label-search") filterOptions(); });
  document.addEventListener("input", (e) => { if (e.target.id === "label-search") filterOptions(); });
  document.addEventListener("focusout", (e) => {
    if (e.target.id !== "label-search") return;
    setTimeout(() => {
      const picker = document.querySelector("[data-label-picker]");
      if (picker && !picker.contains(document.activeElement)) showOptions(false);
    }, 150);
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "label-search") return;
    const visible = labelOptions().filter((o) => !o.hidden);
    const at = visible.findIndex((o) => o.classList.contains("current"));
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      showOptions(true);
      const next = e.key === "ArrowDown" ? Math.min(visible.length - 1, at + 1) : Math.max(0, at - 1);
      setCurrent(visible[next] || null);
    } else if (e.key === "Enter") {
      e.preventDefault();
      const chosen = visible[at] || visible[0];
      if (chosen) { refocusLabels = true; toggleLabel(chosen.dataset.label); }
    } else if (e.key === "Escape") {
      if (!document.getElementById("label-options").hidden) { e.preventDefault(); e.stopPropagation(); showOptions(false); }
    }
  });
  document.addEventListener("mousedown", (e) => {
    const option = e.target.closest("#label-options [role=option]");
    if (!option) return;
    e.preventDefault(); // keep the focus in the search field
    refocusLabels = true;
    toggleLabel(option.dataset.label);
  });
  document.addEventListener("click", (e) => {
    const remove = e.target.closest("[data-remove-label]");
    if (remove) { refocusLabels = true; toggleLabel(remove.dataset.removeLabel, false); }
  });

  // ---------- after app.js swaps the header and panel in again ----------
  // A live event re-renders the header and the panel; whoever was typing in the panel (the
  // label search) or had a control focused keeps the focus and what they typed.
  let focused = null;
  document.addEventListener("focusin", (e) => {
    const inHeader = e.target.id && e.target.closest("#thread-header");
    focused = inHeader ? { id: e.target.id, value: e.target.value } : null;
  });
  document.addEventListener("input", (e) => {
    if (focused && e.target.id === focused.id) focused.value = e.target.value;
  });
  function afterHeaderSwap() {
    syncPanel();
    localTimes(document.getElementById("thread-header"));
    const lost = !document.activeElement || document.activeElement === body;
    const menu = openMenuId && document.getElementById(openMenuId);
    if (menu && menu.hidden) { openMenu(menu.closest("[data-menu]")); return; }
    if (lost && focused && !refocusLabels) {
      const again = document.getElementById(focused.id);
      if (again) {
        if (again.tagName === "INPUT" && again.type === "text" && typeof focused.value === "string") again.value = focused.value;
        again.focus();
      }
    }
    if (refocusLabels) {
      refocusLabels = false;
      const search = document.getElementById("label-search");
      if (search) { search.focus(); }
    }
  }
  const header = document.getElementById("thread-header");
  if (header) new MutationObserver(afterHeaderSwap).observe(header, { childList: true });

  // ---------- dialogs: keyboard shortcuts ----------
  function openShortcuts() {
    const d = document.getElementById("shortcuts-dialog");
    if (d && !d.open) d.showModal();
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-open-shortcuts]")) openShortcuts();
    const close = e.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });

  // ---------- command palette ----------
  const palette = document.getElementById("palette");
  const paletteInput = document.getElementById("palette-input");
  const paletteList = document.getElementById("palette-list");
  let commands = [];
  let shown = [];
  let selected = 0;
  let searchSeq = 0;
  const listQuery = () => (app ? app.dataset.listQuery : "");
  const conversationUrl = (n) => `/app/accounts/${accountId}/conversations/${n}${listQuery() ? `?${listQuery()}` : ""}`;
  const openId = () => { const t = document.getElementById("thread"); return t ? t.dataset.displayId : ""; };

  function click(selector) {
    const el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }
  function choose(selectId, value) {
    const sel = document.getElementById(selectId);
    if (!sel) return;
    sel.value = String(value);
    sel.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function baseCommands() {
    const out = [];
    const seen = new Set();
    document.querySelectorAll("nav.sidebar a[href]").forEach((a) => {
      const name = (a.querySelector(".label-name") || a).textContent.replace(/\s+\d+\s*$/, "").replace(/\s+/g, " ").trim();
      if (!name || seen.has(a.href)) return;
      seen.add(a.href);
      out.push({ group: "View", title: `Go to ${name}`, run: () => { location.href = a.href; } });
    });
    if (!out.length) {
      [["me", "Mine"], ["unassigned", "Unassigned"], ["all", "All conversations"]].forEach(([k, name]) => out.push({
        group: "View", title: `Go to ${name}`, run: () => { location.href = `/app/accounts/${accountId}/conversations?assignee_type=${k}&status=open`; },
      }));
    }
    const id = openId();
    if (id) {
      const status = (document.querySelector(".thread-header") || { dataset: {} }).dataset.status;
      if (status === "resolved" || status === "snoozed") out.unshift({ group: `#${id}`, title: "Reopen the conversation", run: () => click('button[data-action="status"][data-status="open"]') });
      if (status !== "resolved") out.unshift({ group: `#${id}`, title: "Resolve the conversation", run: () => click('button[data-action="status"][data-status="resolved"]') });
      const me = body.dataset.userId;
      out.push({ group: `#${id}`, title: "Assign to me", run: () => choose("assign-agent", me) });
      const agents = document.getElementById("assign-agent");
      if (agents) Array.from(agents.options).forEach((o) => {
        if (o.value === "0") out.push({ group: `#${id}`, title: "Unassign", run: () => choose("assign-agent", 0) });
        else if (o.value !== me) out.push({ group: `#${id}`, title: `Assign to ${o.textContent.trim()}`, run: () => choose("assign-agent", o.value) });
      });
      const teams = document.getElementById("assign-team");
      if (teams) Array.from(teams.options).forEach((o) => {
        if (o.value !== "0") out.push({ group: `#${id}`, title: `Assign team ${o.textContent.trim()}`, run: () => choose("assign-team", o.value) });
      });
      const labels = currentLabels().map((l) => l.toLowerCase());
      labelOptions().forEach((o) => {
        const on = labels.includes(o.dataset.label.toLowerCase());
        out.push({ group: `#${id}`, title: `${on ? "Remove" : "Add"} label ${o.dataset.label}`, run: () => toggleLabel(o.dataset.label, !on) });
      });
      [["hour", "an hour"], ["tonight", "tonight"], ["tomorrow", "tomorrow"], ["next_week", "next week"]].forEach(([k, name]) => {
        if (presetTime(k, new Date())) out.push({ group: `#${id}`, title: `Snooze until ${name}`, run: () => snoozePreset(k) });
      });
      // Issue 13 (rules): the macros (static/automation.js keeps them loaded).
      if (window.switchboardMacros) window.switchboardMacros.commands(id).forEach((c) => out.push(c));
      out.push({ group: `#${id}`, title: "Reply (focus the composer)", run: () => { const t = document.getElementById("composer-text"); if (t) t.focus(); } });
    }
    out.push({ group: "Go", title: "Search contacts and messages", run: () => { location.href = `/app/accounts/${accountId}/search`; } });
    out.push({ group: "Go", title: "Profile", run: () => { location.href = `/app/accounts/${accountId}/profile`; } });
    if (document.querySelector('.topnav a[data-nav="settings"]')) out.push({ group: "Go", title: "Settings", run: () => { location.href = `/app/accounts/${accountId}/settings/inboxes`; } });
    out.push({ group: "Help", title: "Keyboard shortcuts", run: () => openShortcuts() });
    return out;
  }

  function renderPalette(extra) {
    const q = paletteInput.value.trim();
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    const number = q.match(/^#?(\d+)$/);
    shown = [];
    if (number) shown.push({ group: "Conversation", title: `Open conversation #${number[1]}`, run: () => { location.href = conversationUrl(number[1]); } });
    (extra || []).forEach((c) => shown.push(c));
    commands.filter((c) => words.every((w) => `${c.title} ${c.group}`.toLowerCase().includes(w))).forEach((c) => shown.push(c));
    selected = 0;
    paletteList.replaceChildren();
    shown.slice(0, 60).forEach((c, i) => {
      const li = document.createElement("li");
      li.id = `palette-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === selected));
      const title = document.createElement("span");
      title.textContent = c.title;
      const group = document.createElement("span");
      group.className = "palette-group";
      group.textContent = c.group;
      li.append(title, group);
      li.addEventListener("mousedown", (e) => { e.preventDefault(); run(i); });
      paletteList.append(li);
    });
    if (!shown.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "Nothing matches.";
      paletteList.append(li);
    }
    mark();
  }
  function mark() {
    Array.from(paletteList.children).forEach((li, i) => li.setAttribute && li.getAttribute("role") === "option" && li.setAttribute("aria-selected", String(i === selected)));
    const current = document.getElementById(`palette-option-${selected}`);
    if (current) { paletteInput.setAttribute("aria-activedescendant", current.id); current.scrollIntoView({ block: "nearest" }); }
    else paletteInput.removeAttribute("aria-activedescendant");
  }
  function run(i) {
    const c = shown[i];
    if (!c) return;
    palette.close();
    c.run();
  }
  // Contacts and conversation numbers from the search API (GET /search?q=), debounced.
  let searchTimer = null;
  function searchContacts() {
    clearTimeout(searchTimer);
    const q = paletteInput.value.trim();
    if (q.length < 2 || /^#?\d+$/.test(q)) return;
    const seq = ++searchSeq;
    searchTimer = setTimeout(async () => {
      try {
        const found = await api("GET", `/search?q=${encodeURIComponent(q)}`);
        if (seq !== searchSeq || !palette.open) return;
        const extra = [];
        ((found && found.payload && found.payload.contacts) || []).slice(0, 8).forEach((c) => {
          (c.conversation_ids || []).slice(0, 3).forEach((n) => extra.push({
            group: "Contact", title: `${c.name || c.phone_number || "Contact"} · #${n}`, run: () => { location.href = conversationUrl(n); },
          }));
        });
        renderPalette(extra);
      } catch (_) { /* the commands stay */ }
    }, 200);
  }
  function openPalette() {
    if (!palette || palette.open) return;
    document.querySelectorAll("dialog[open]").forEach((d) => d.close());
    closeMenus();
    commands = baseCommands();
    paletteInput.value = "";
    renderPalette();
    palette.showModal();
    paletteInput.focus();
  }
  if (palette) {
    paletteInput.addEventListener("input", () => { searchSeq += 1; renderPalette(); searchContacts(); });
    paletteInput.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = Math.min(shown.length, 60);
        if (!n) return;
        selected = e.key === "ArrowDown" ? (selected + 1) % n : (selected - 1 + n) % n;
        mark();
      } else if (e.key === "Enter") {
        e.preventDefault();
        run(selected);
      }
    });
    palette.addEventListener("click", (e) => { if (e.target === palette) palette.close(); });
  }

  // ---------- global keys ----------
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
      e.preventDefault();
      openPalette();
      return;
    }
    if (e.key === "Escape" && !e.defaultPrevented) {
      if (rail && rail.classList.contains("menu-open")) { setMenu(false); if (menuButton) menuButton.focus(); return; }
      const open = document.querySelector("[data-menu] .menu:not([hidden])");
      if (open) {
        closeMenus();
        const trigger = open.closest("[data-menu]").querySelector(".menu-trigger");
        if (trigger) trigger.focus();
        return;
      }
      if (closeSheet()) return;
    }
    if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target) && !document.querySelector("dialog[open]")) {
      e.preventDefault();
      openShortcuts();
    }
  });

  // ---------- skeletons while the list or the thread loads ----------
  // A click on a conversation or a filter loads a new page: show skeleton rows meanwhile.
  document.addEventListener("click", (e) => {
    const link = e.target.closest(".conversation-row a, nav[data-sidebar] a");
    if (!link || e.defaultPrevented || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    const list = document.getElementById("conversation-list");
    const skeleton = document.getElementById("list-skeleton");
    if (link.closest("nav[data-sidebar]") && list && skeleton) {
      list.setAttribute("aria-busy", "true");
      skeleton.hidden = false;
    }
    const pane = document.getElementById("main");
    if (link.closest(".conversation-row") && pane && !pane.querySelector(".thread-skeleton")) {
      // Skeleton bubbles over the thread until the next page arrives.
      const sk = document.createElement("div");
      sk.className = "thread-skeleton";
      sk.setAttribute("aria-hidden", "true");
      ["in", "out", "in"].forEach((side) => {
        const b = document.createElement("span");
        b.className = `skeleton skeleton-bubble ${side}`;
        sk.append(b);
      });
      pane.setAttribute("aria-busy", "true");
      pane.append(sk);
    }
  });
  window.addEventListener("pageshow", () => {
    const list = document.getElementById("conversation-list");
    const skeleton = document.getElementById("list-skeleton");
    if (list) list.setAttribute("aria-busy", "false");
    if (skeleton) skeleton.hidden = true;
    document.querySelectorAll(".thread-skeleton").forEach((sk) => sk.remove());
    const pane = document.getElementById("main");
    if (pane) pane.removeAttribute("aria-busy");
  });

  // ---------- start ----------
  syncPanel();
  localTimes(document);
  // Opening a conversation at desktop width puts the cursor in the reply box (as Chatwoot
  // does), so an agent can answer without the mouse. Not on a phone: it would open the
  // on-screen keyboard over the thread.
  const composer = document.getElementById("composer-text");
  if (composer && !composer.disabled && !phone.matches && (document.activeElement === body || !document.activeElement)) {
    composer.focus({ preventScroll: true });
  }
})();
