// Issue 13 (rules): Settings → Automation (the rule and macro editor) and running macros
// from a conversation (header menu, command palette, bulk bar). Nothing builds HTML from
// strings: elements are created and texts set with textContent.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  async function call(accountId, method, path, payload) {
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
      const msg = (json && (json.message || json.error)) || `The server answered ${resp.status}`;
      const err = new Error(json && json.field ? `${json.field}: ${msg}` : msg);
      throw err;
    }
    return json;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function option(value, label, selected) {
    const o = el("option", { value: String(value) }, label);
    if (selected) o.selected = true;
    return o;
  }

  // ================= Settings → Automation =================
  const page = document.querySelector("[data-automation]");
  if (page) settingsPage(page);

  function settingsPage(page) {
    const opts = JSON.parse(page.dataset.automation);
    const accountId = opts.account_id;
    const status = document.getElementById("automation-status");
    const dialog = document.getElementById("automation-editor");
    const form = document.getElementById("automation-form");
    const title = document.getElementById("editor-title");
    const errorEl = document.getElementById("ed-error");
    const condList = document.getElementById("ed-conditions");
    const actList = document.getElementById("ed-actions");
    const eventSel = document.getElementById("ed-event");
    const minutesRow = document.getElementById("ed-minutes-row");
    let editing = null; // {kind: "rule"|"macro", id}
    let rowSeq = 0;

    for (const e of opts.events) eventSel.append(option(e.key, e.label));
    const syncMinutes = () => { minutesRow.hidden = eventSel.value !== "conversation_unanswered"; };
    eventSel.addEventListener("change", syncMinutes);

    const say = (text) => { status.textContent = text; };

    // ----- condition rows -----
    function operatorsFor(key, custom) {
      if (custom) return opts.custom_operators;
      const k = opts.keys.find((x) => x.key === key);
      return k ? k.operators : [];
    }
    const OP_LABELS = {
      equal_to: "is", not_equal_to: "is not", contains: "contains", does_not_contain: "does not contain",
      starts_with: "starts with", matches: "matches (regex)", is_present: "is set", is_not_present: "is not set",
      is_greater_than: "is greater than", is_less_than: "is less than",
    };
    function valueChoices(key) {
      switch (key) {
        case "inbox_id": return opts.inboxes.map((i) => [i.id, i.name]);
        case "assignee_id": return opts.agents.map((a) => [a.id, a.name]);
        case "team_id": return opts.teams.map((t) => [t.id, t.name]);
        case "status": return ["open", "pending", "resolved", "snoozed"].map((s) => [s, s]);
        case "priority": return ["urgent", "high", "medium", "low", "none"].map((s) => [s, s]);
        case "message_type": return [["incoming", "incoming"], ["outgoing", "outgoing"]];
        case "customer_service_window": return [["open", "open"], ["closed", "closed"]];
        case "business_hours": return [["during", "during business hours"], ["outside", "outside business hours"]];
        case "labels": return opts.labels.map((l) => [l, l]);
        default: return null;
      }
    }

    function addCondition(c) {
      c = c || { attribute_key: "content", filter_operator: "contains", values: [], query_operator: "and" };
      const n = ++rowSeq;
      const li = el("li", { class: "automation-row" });
      const custom = !!c.custom_attribute_type;
      const keySel = el("select", { "aria-label": `Condition ${condList.children.length + 1}: attribute` });
      for (const k of opts.keys) keySel.append(option(k.key, k.label, !custom && k.key === c.attribute_key));
      keySel.append(option("__custom_contact", "Contact custom attribute…", c.custom_attribute_type === "contact_attribute"));
      keySel.append(option("__custom_conversation", "Conversation custom attribute…", c.custom_attribute_type === "conversation_attribute"));
      const customKey = el("input", { "aria-label": "Custom attribute key", placeholder: "attribute key", class: "custom-key" });
      customKey.value = custom ? c.attribute_key : "";
      const opSel = el("select", { "aria-label": "Operator" });
      const valueBox = el("span", { class: "value-box" });
      const joinSel = el("select", { "aria-label": "Then", class: "join" });
      joinSel.append(option("and", "and", c.query_operator !== "or"), option("or", "or", c.query_operator === "or"));
      const remove = el("button", { type: "button", class: "row-remove", "aria-label": "Remove condition" }, "✕");
      remove.addEventListener("click", () => li.remove());

      function render(values) {
        const key = keySel.value;
        const isCustom = key.startsWith("__custom");
        customKey.hidden = !isCustom;
        const ops = operatorsFor(key, isCustom);
        const prevOp = opSel.value || c.filter_operator;
        opSel.replaceChildren(...ops.map((o) => option(o, OP_LABELS[o] || o, o === prevOp)));
        const choices = isCustom ? null : valueChoices(key);
        valueBox.replaceChildren();
        const noValue = ["is_present", "is_not_present"].includes(opSel.value);
        if (noValue) return;
        if (choices) {
          const sel = el("select", { "aria-label": "Value", class: "cond-value" });
          if (key === "labels" || key === "inbox_id" || key === "assignee_id" || key === "team_id" || key === "status") {
            sel.multiple = false;
          }
          for (const [v, label] of choices) sel.append(option(v, label, (values || []).map(String).includes(String(v))));
          valueBox.append(sel);
        } else {
          const input = el("input", { "aria-label": "Value (comma-separated for several)", class: "cond-value", placeholder: key === "content" ? "refund, money back" : "value" });
          input.value = (values || []).join(opSel.value === "matches" ? "" : ", ");
          valueBox.append(input);
        }
      }
      keySel.addEventListener("change", () => { opSel.value = ""; render([]); });
      opSel.addEventListener("change", () => {
        const v = valueBox.querySelector(".cond-value");
        render(v ? [v.value] : []);
      });
      li.append(keySel, customKey, opSel, valueBox, joinSel, remove);
      li.readCondition = () => {
        const key = keySel.value;
        const isCustom = key.startsWith("__custom");
        const v = valueBox.querySelector(".cond-value");
        let values = [];
        if (v) {
          values = v.tagName === "SELECT" || opSel.value === "matches"
            ? [v.value]
            : v.value.split(",").map((s) => s.trim()).filter(Boolean);
        }
        const out = { attribute_key: isCustom ? customKey.value.trim() : key, filter_operator: opSel.value, values, query_operator: joinSel.value };
        if (isCustom) out.custom_attribute_type = key === "__custom_contact" ? "contact_attribute" : "conversation_attribute";
        return out;
      };
      li.dataset.n = n;
      condList.append(li);
      render(c.values);
    }

    // ----- action rows -----
    function addAction(a) {
      a = a || { action_name: "add_label", action_params: [] };
      const li = el("li", { class: "automation-row" });
      const nameSel = el("select", { "aria-label": `Action ${actList.children.length + 1}` });
      for (const x of opts.actions) nameSel.append(option(x.key, x.label, x.key === a.action_name));
      const box = el("span", { class: "value-box" });
      const remove = el("button", { type: "button", class: "row-remove", "aria-label": "Remove action" }, "✕");
      remove.addEventListener("click", () => li.remove());
      function render(params) {
        params = params || [];
        box.replaceChildren();
        const name = nameSel.value;
        const select = (choices, label) => {
          const s = el("select", { "aria-label": label, class: "act-value" });
          for (const [v, l] of choices) s.append(option(v, l, String(params[0]) === String(v)));
          box.append(s);
        };
        const input = (label, placeholder, value) => {
          const i = el("input", { "aria-label": label, class: "act-value", placeholder });
          i.value = value || "";
          box.append(i);
        };
        switch (name) {
          case "assign_agent": return select(opts.agents.map((x) => [x.id, x.name]), "Agent");
          case "assign_team": return select(opts.teams.map((x) => [x.id, x.name]), "Team");
          case "change_priority": return select(["urgent", "high", "medium", "low", "none"].map((p) => [p, p]), "Priority");
          case "change_status": return select(["open", "pending", "resolved", "snoozed"].map((p) => [p, p]), "Status");
          case "add_label": case "remove_label": {
            input("Labels (comma-separated)", opts.labels.slice(0, 3).join(", ") || "billing", params.join(", "));
            return;
          }
          case "send_message": case "add_private_note": {
            const t = el("textarea", { "aria-label": name === "send_message" ? "Message" : "Note", class: "act-value", rows: "2" });
            t.value = params[0] || "";
            box.append(t);
            return;
          }
          case "add_sla": return select((opts.sla_policies || []).map((x) => [x.id, x.name]), "SLA policy");
          case "send_webhook_event": return input("Webhook URL", "https://example.com/hook", params[0]);
          case "snooze_conversation": return input("Minutes (empty: until the next reply)", "until the next reply", params[0]);
          case "send_template": {
            const p = params[0] || {};
            input("Template name", "order_update", p.name);
            input("Language", "en_US", p.language);
            return;
          }
          case "send_email_to_team": {
            const p = params[0] || {};
            select(opts.teams.map((x) => [x.id, x.name]), "Team to email");
            const s = box.querySelector("select");
            if (p.team_ids) s.value = String(p.team_ids[0]);
            input("Email text", "A VIP is waiting", p.message);
            return;
          }
          default: return;
        }
      }
      nameSel.addEventListener("change", () => render([]));
      li.append(nameSel, box, remove);
      li.readAction = () => {
        const name = nameSel.value;
        const vals = [...box.querySelectorAll(".act-value")].map((x) => x.value.trim());
        let params = [];
        switch (name) {
          case "add_label": case "remove_label": params = vals[0].split(",").map((s) => s.trim()).filter(Boolean); break;
          case "snooze_conversation": params = vals[0] ? [vals[0]] : []; break;
          case "send_template": params = [{ name: vals[0], language: vals[1] }]; break;
          case "send_email_to_team": params = [{ team_ids: [Number(vals[0])], message: vals[1] }]; break;
          default: params = vals.length ? [vals[0]] : [];
        }
        return { action_name: name, action_params: params };
      };
      actList.append(li);
      render(a.action_params);
    }

    document.getElementById("ed-add-condition").addEventListener("click", () => addCondition());
    document.getElementById("ed-add-action").addEventListener("click", () => addAction());
    document.getElementById("ed-cancel").addEventListener("click", () => dialog.close());

    function open(kind, data) {
      editing = { kind, id: data ? data.id : null };
      form.classList.toggle("is-macro", kind === "macro");
      title.textContent = data ? `Edit ${kind}` : (kind === "rule" ? "New rule" : "New macro");
      errorEl.textContent = "";
      form.elements.name.value = data ? data.name : "";
      if (kind === "rule") {
        form.elements.description.value = data ? data.description : "";
        eventSel.value = data ? data.event_name : "message_created";
        document.getElementById("ed-minutes").value = (data && data.unanswered_minutes) || 30;
      } else {
        document.getElementById("ed-visibility").value = data ? data.visibility : "personal";
      }
      syncMinutes();
      condList.replaceChildren();
      actList.replaceChildren();
      if (kind === "rule") {
        for (const c of (data ? data.conditions : [])) addCondition(c);
        if (!data) addCondition();
      }
      for (const a of (data ? data.actions : [])) addAction(a);
      if (!data) addAction();
      dialog.showModal();
      form.elements.name.focus();
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errorEl.textContent = "";
      const body = { name: form.elements.name.value.trim(), actions: [...actList.children].map((li) => li.readAction()) };
      let path;
      if (editing.kind === "rule") {
        body.description = form.elements.description.value.trim();
        body.event_name = eventSel.value;
        body.conditions = [...condList.children].map((li) => li.readCondition());
        if (body.event_name === "conversation_unanswered") body.unanswered_minutes = Number(document.getElementById("ed-minutes").value);
        path = "/automation_rules";
      } else {
        body.visibility = document.getElementById("ed-visibility").value;
        path = "/macros";
      }
      try {
        await call(accountId, editing.id ? "PATCH" : "POST", editing.id ? `${path}/${editing.id}` : path, body);
        dialog.close();
        window.location.reload();
      } catch (e) {
        errorEl.textContent = e.message;
      }
    });

    const newRule = document.getElementById("new-rule");
    if (newRule) newRule.addEventListener("click", () => open("rule", null));
    document.getElementById("new-macro").addEventListener("click", () => open("macro", null));

    page.addEventListener("click", async (ev) => {
      const item = ev.target.closest(".automation-item");
      if (!item) return;
      const data = JSON.parse(item.dataset.json);
      if (ev.target.closest(".rule-edit")) open("rule", data);
      else if (ev.target.closest(".macro-edit")) open("macro", data);
      else if (ev.target.closest(".rule-delete, .macro-delete")) {
        const isRule = !!item.dataset.ruleId;
        if (!window.confirm(`Delete “${data.name}”?`)) return;
        try {
          await call(accountId, "DELETE", `${isRule ? "/automation_rules" : "/macros"}/${data.id}`);
          item.remove();
          say(`Deleted “${data.name}”.`);
        } catch (e) { say(e.message); }
      }
    });

    page.addEventListener("change", async (ev) => {
      const box = ev.target.closest(".rule-active");
      if (!box) return;
      const item = box.closest(".automation-item");
      const data = JSON.parse(item.dataset.json);
      try {
        await call(accountId, "PATCH", `/automation_rules/${data.id}`, { active: box.checked });
        say(`“${data.name}” is ${box.checked ? "on" : "off"}.`);
      } catch (e) { box.checked = !box.checked; say(e.message); }
    });

    page.addEventListener("toggle", async (ev) => {
      const det = ev.target;
      if (!det.classList || !det.classList.contains("rule-runs") || !det.open) return;
      const item = det.closest(".automation-item");
      const body = det.querySelector(".runs-body");
      try {
        const res = await call(accountId, "GET", `/automation_rules/${item.dataset.ruleId}/runs`);
        const runs = res.payload || [];
        if (!runs.length) { body.replaceChildren(el("p", { class: "muted" }, "No runs yet.")); return; }
        const table = el("table", { class: "rows automation-runs" });
        const head = el("tr");
        for (const h of ["When", "Event", "Outcome", "What it did"]) head.append(el("th", { scope: "col" }, h));
        table.append(el("thead"), el("tbody"));
        table.tHead.append(head);
        for (const r of runs) {
          const tr = el("tr", { class: `run-${r.outcome}` });
          tr.append(
            el("td", { "data-label": "When" }, new Date(r.created_at * 1000).toLocaleString()),
            el("td", { "data-label": "Event" }, r.event_name),
            el("td", { "data-label": "Outcome" }, r.outcome),
            el("td", { "data-label": "What it did" }, r.error || (r.actions_done || []).join(" · ")),
          );
          table.tBodies[0].append(tr);
        }
        body.replaceChildren(table);
      } catch (e) { body.replaceChildren(el("p", { class: "error" }, e.message)); }
    }, true);
  }

  // ================= Running macros =================
  const accountId = document.body.dataset.accountId;
  if (!accountId || page) return;
  let macros = null;
  async function loadMacros() {
    if (macros) return macros;
    try { macros = (await call(accountId, "GET", "/macros")).payload || []; } catch (_) { macros = []; }
    return macros;
  }

  function toast(text) {
    let t = document.getElementById("macro-toast");
    if (!t) {
      t = el("p", { id: "macro-toast", class: "macro-toast", role: "status", "aria-live": "polite" });
      document.body.append(t);
    }
    t.textContent = text;
    t.hidden = false;
    clearTimeout(t._timer);
    t._timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  /// Runs macro `m` on `ids` (display ids); says what happened.
  async function runMacro(m, ids) {
    try {
      await call(accountId, "POST", `/macros/${m.id}/execute`, { conversation_ids: ids });
      toast(`Ran “${m.name}” on ${ids.length === 1 ? "this conversation" : `${ids.length} conversations`}.`);
    } catch (e) {
      toast(`“${m.name}” failed: ${e.message}`);
    }
  }
  // Palette commands (workspace.js asks synchronously; the list is loaded up front).
  function commands(id) {
    return (macros || []).map((m) => ({ group: `#${id}`, title: `Run macro ${m.name}`, run: () => runMacro(m, [Number(id)]) }));
  }
  window.switchboardMacros = { load: loadMacros, run: runMacro, commands };
  if (document.getElementById("palette")) loadMacros();

  function currentDisplayId() {
    const t = document.getElementById("thread");
    return t && t.dataset.displayId ? Number(t.dataset.displayId) : null;
  }
  function bulkIds() {
    return [...document.querySelectorAll("input.row-select:checked")].map((b) => Number(b.dataset.select));
  }

  // The header's Macros menu: a button that opens a list (built on click).
  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("[data-macro-menu]");
    const menus = document.querySelectorAll(".macro-menu");
    if (!btn) {
      const inMenu = ev.target.closest(".macro-menu");
      if (inMenu) {
        const item = ev.target.closest("[data-macro-id]");
        if (item) {
          const list = await loadMacros();
          const m = list.find((x) => String(x.id) === item.dataset.macroId);
          const ids = inMenu.dataset.ids ? inMenu.dataset.ids.split(",").map(Number) : [currentDisplayId()];
          inMenu.remove();
          if (m) runMacro(m, ids.filter(Boolean));
        }
        return;
      }
      menus.forEach((m) => m.remove());
      return;
    }
    if (menus.length) { menus.forEach((m) => m.remove()); btn.setAttribute("aria-expanded", "false"); return; }
    // Measured before waiting: a live re-render may replace the button meanwhile.
    const live = btn.isConnected ? btn
      : document.querySelector(btn.hasAttribute("data-macro-bulk") ? "[data-macro-bulk]" : ".thread-header [data-macro-menu]");
    const r = (live || btn).getBoundingClientRect();
    const ids = btn.hasAttribute("data-macro-bulk") ? bulkIds() : [currentDisplayId()];
    const list = await loadMacros();
    const menu = el("ul", { class: "macro-menu", role: "menu", "aria-label": "Macros" });
    // Kept on <body>, placed under the button: the header re-renders live and would take it.
    menu.dataset.ids = ids.join(",");
    if (!list.length) {
      const li = el("li", { role: "none" });
      const a = el("a", { href: `/app/accounts/${accountId}/settings/automation`, role: "menuitem" }, "No macros yet — add one in Settings");
      li.append(a);
      menu.append(li);
    }
    for (const m of list) {
      const li = el("li", { role: "none" });
      li.append(el("button", { type: "button", role: "menuitem", "data-macro-id": m.id }, m.name));
      menu.append(li);
    }
    btn.setAttribute("aria-expanded", "true");
    document.body.append(menu);
    const w = menu.offsetWidth;
    menu.style.top = `${Math.round(r.bottom + 4)}px`;
    menu.style.left = `${Math.round(Math.max(8, Math.min(r.left, window.innerWidth - w - 8)))}px`;
    const first = menu.querySelector("button, a");
    if (first) first.focus();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") document.querySelectorAll(".macro-menu").forEach((m) => m.remove());
  });
})();
