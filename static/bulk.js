// Conversation list: selection, bulk actions, sort, filter builder and saved views (issue 10).
// Nothing here builds HTML from strings: options and texts are set with textContent, and the
// list is re-rendered by the server (app.js swaps the fragment in).
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  const tools = document.querySelector("[data-list-tools]");
  if (!accountId || !tools) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const app = document.getElementById("app");
  const listEl = document.getElementById("conversation-list");
  const bar = document.querySelector("[data-bulk-bar]");
  const countEl = bar.querySelector("[data-bulk-count]");
  const errorEl = bar.querySelector("[data-bulk-error]");
  const selectAll = tools.querySelector("[data-select-all]");
  const dialog = document.querySelector("[data-filter-dialog]");
  const conditionsEl = dialog.querySelector("[data-conditions]");
  const template = dialog.querySelector("[data-condition-template]");
  const filterError = dialog.querySelector("[data-filter-error]");
  const base = `/app/accounts/${accountId}/conversations`;

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

  const listQuery = () => (app ? app.dataset.listQuery : "");

  // ---------- the account's agents, teams, inboxes and labels (loaded once, lazily) ----------
  let optionsPromise = null;
  function accountOptions() {
    if (!optionsPromise) {
      const get = (p) => api("GET", p).catch(() => null);
      optionsPromise = Promise.all([get("/agents"), get("/teams"), get("/inboxes"), get("/labels"),
        get("/custom_attribute_definitions?attribute_model=conversation_attribute"), get("/sla_policies")]).then(
        ([agents, teams, inboxes, labels, custom, slas]) => ({
          agents: (agents || []).map((a) => [String(a.id), a.available_name || a.name]),
          teams: (teams || []).map((t) => [String(t.id), t.name]),
          inboxes: ((inboxes && inboxes.payload) || []).map((i) => [String(i.id), i.name]),
          labels: ((labels && labels.payload) || []).map((l) => [l.title, l.title]),
          custom: Array.isArray(custom) ? custom : [],
          slas: ((slas && slas.payload) || []).map((p) => [String(p.id), p.name]),
        }),
      );
    }
    return optionsPromise;
  }

  function fill(select, pairs, keepFirst) {
    while (select.options.length > keepFirst) select.remove(keepFirst);
    pairs.forEach(([value, text]) => select.add(new Option(text, value)));
  }

  let barFilled = false;
  async function fillBar() {
    if (barFilled) return;
    barFilled = true;
    const o = await accountOptions();
    const me = body.dataset.userId;
    const agents = o.agents.map(([id, name]) => [id, id === me ? `${name} (me)` : name]);
    fill(bar.querySelector("[data-bulk-agent]"), agents, 2);
    fill(bar.querySelector("[data-bulk-team]"), o.teams, 2);
    fill(bar.querySelector("[data-bulk-add-label]"), o.labels, 1);
    fill(bar.querySelector("[data-bulk-remove-label]"), o.labels, 1);
  }

  // ---------- selection ----------
  const selected = new Set();
  let lastClicked = null;
  const boxes = () => Array.from(listEl.querySelectorAll("input[data-select]"));

  function render() {
    boxes().forEach((b) => { b.checked = selected.has(b.dataset.select); });
    const n = selected.size;
    countEl.textContent = String(n);
    bar.hidden = n === 0;
    app.classList.toggle("selecting", n > 0);
    const all = boxes();
    const checked = all.filter((b) => b.checked).length;
    selectAll.checked = all.length > 0 && checked === all.length;
    selectAll.indeterminate = checked > 0 && checked < all.length;
    if (n > 0) fillBar();
  }

  listEl.addEventListener("click", (e) => {
    const box = e.target.closest("input[data-select]");
    if (!box) return;
    const all = boxes();
    if (e.shiftKey && lastClicked !== null) {
      // Shift-click: every row between the last clicked one and this one takes its state.
      const from = all.findIndex((b) => b.dataset.select === lastClicked);
      const to = all.indexOf(box);
      if (from >= 0 && to >= 0) {
        const [a, b] = from < to ? [from, to] : [to, from];
        all.slice(a, b + 1).forEach((x) => {
          if (box.checked) selected.add(x.dataset.select); else selected.delete(x.dataset.select);
        });
      }
    } else if (box.checked) {
      selected.add(box.dataset.select);
    } else {
      selected.delete(box.dataset.select);
    }
    lastClicked = box.dataset.select;
    render();
  });

  selectAll.addEventListener("change", () => {
    boxes().forEach((b) => { if (selectAll.checked) selected.add(b.dataset.select); else selected.delete(b.dataset.select); });
    render();
  });

  bar.querySelector("[data-clear-selection]").addEventListener("click", () => { selected.clear(); render(); });

  bar.querySelector("[data-select-matching]").addEventListener("click", async (e) => {
    const btn = e.currentTarget;
    try {
      const resp = await fetch(`/app/accounts/${accountId}/partials/conversation_ids?${listQuery()}`, { credentials: "same-origin" });
      if (!resp.ok) throw new Error(`The server answered ${resp.status}`);
      const data = await resp.json();
      data.ids.forEach((id) => selected.add(String(id)));
      render();
      btn.textContent = data.total > data.ids.length
        ? `Selected the first ${data.ids.length} of ${data.total}`
        : `All ${data.total} matching selected`;
    } catch (err) { errorEl.textContent = err.message; }
  });

  // The list is swapped by live updates and "Load more": keep the checks.
  new MutationObserver(() => render()).observe(listEl, { childList: true, subtree: true });

  // ---------- bulk actions ----------
  async function refresh() {
    try {
      const resp = await fetch(`/app/accounts/${accountId}/partials/conversations?${listQuery()}`, { credentials: "same-origin" });
      if (!resp.ok) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = await resp.text(); // server-rendered, escaped by askama
      listEl.replaceChildren(tpl.content);
    } catch (_) { /* the next live event refreshes it */ }
  }

  async function bulk(payload, control) {
    if (selected.size === 0) return;
    errorEl.textContent = "";
    const controls = bar.querySelectorAll("button, select");
    controls.forEach((c) => { c.disabled = true; });
    try {
      await api("POST", "/bulk_actions", Object.assign({ type: "Conversation", ids: Array.from(selected, Number) }, payload));
      selected.clear();
      bar.querySelector("[data-select-matching]").textContent = "Select all matching";
      await refresh();
    } catch (err) {
      errorEl.textContent = err.message;
    } finally {
      controls.forEach((c) => { c.disabled = false; });
      if (control && control.tagName === "SELECT") control.value = "";
      render();
    }
  }

  bar.querySelectorAll("[data-bulk-status]").forEach((b) =>
    b.addEventListener("click", () => bulk({ fields: { status: b.dataset.bulkStatus } }, b)));

  function snoozeUntil(preset) {
    const d = new Date();
    if (preset === "hour") return Math.floor(d.getTime() / 1000) + 3600;
    if (preset === "tonight") { d.setHours(18, 0, 0, 0); if (d <= new Date()) d.setDate(d.getDate() + 1); }
    if (preset === "tomorrow") { d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); }
    if (preset === "week") { d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7)); d.setHours(9, 0, 0, 0); }
    return Math.floor(d.getTime() / 1000);
  }

  const onPick = (sel, make) => sel.addEventListener("change", () => { if (sel.value !== "") bulk(make(sel.value), sel); });
  onPick(bar.querySelector("[data-bulk-snooze]"), (v) => ({ fields: { status: "snoozed", snoozed_until: snoozeUntil(v) } }));
  onPick(bar.querySelector("[data-bulk-agent]"), (v) => ({ fields: { assignee_id: v === "0" ? null : Number(v) } }));
  onPick(bar.querySelector("[data-bulk-team]"), (v) => ({ fields: { team_id: v === "0" ? null : Number(v) } }));
  onPick(bar.querySelector("[data-bulk-add-label]"), (v) => ({ labels: { add: [v] } }));
  onPick(bar.querySelector("[data-bulk-remove-label]"), (v) => ({ labels: { remove: [v] } }));

  // ---------- sort ----------
  const params = () => new URLSearchParams(listQuery());
  tools.querySelector("[data-sort]").addEventListener("change", (e) => {
    const p = params();
    p.set("sort_by", e.target.value);
    window.location.assign(`${base}?${p.toString()}`);
  });

  // ---------- filter builder ----------
  const OPERATORS = {
    status: [["equal_to", "is"], ["not_equal_to", "is not"]],
    assignee_id: [["equal_to", "is"], ["not_equal_to", "is not"], ["is_not_present", "is nobody"], ["is_present", "is anyone"]],
    inbox_id: [["equal_to", "is"], ["not_equal_to", "is not"]],
    team_id: [["equal_to", "is"], ["not_equal_to", "is not"], ["is_not_present", "is none"], ["is_present", "is any"]],
    labels: [["equal_to", "has"], ["not_equal_to", "has not"], ["is_present", "has any label"], ["is_not_present", "has no label"]],
    priority: [["equal_to", "is"], ["not_equal_to", "is not"]],
    customer_service_window: [["equal_to", "is"]],
    sla_policy_id: [["equal_to", "is"], ["not_equal_to", "is not"], ["is_present", "is any"], ["is_not_present", "is none"]],
    sla_status: [["equal_to", "is"], ["not_equal_to", "is not"]],
    created_at: [["is_greater_than", "after"], ["is_less_than", "before"], ["days_before", "more than N days ago"]],
    last_activity_at: [["is_greater_than", "after"], ["is_less_than", "before"], ["days_before", "more than N days ago"]],
  };
  const STATIC_VALUES = {
    status: [["open", "Open"], ["pending", "Pending"], ["snoozed", "Snoozed"], ["resolved", "Resolved"]],
    priority: [["urgent", "Urgent"], ["high", "High"], ["medium", "Medium"], ["low", "Low"], ["none", "None"]],
    customer_service_window: [["open", "Open (a free reply may be sent)"], ["closed", "Closed (templates only)"]],
    sla_status: [["active_with_misses", "Breached, still open"], ["active", "On track"], ["hit", "Hit"], ["missed", "Missed"]],
  };

  // Conversation custom attributes (issue 11): operators and values by their type.
  let customDefs = [];
  const SET = [["is_present", "is set"], ["is_not_present", "is not set"]];
  const CUSTOM_OPERATORS = {
    text: [["equal_to", "is"], ["not_equal_to", "is not"], ["contains", "contains"], ["does_not_contain", "does not contain"], ...SET],
    link: [["equal_to", "is"], ["not_equal_to", "is not"], ["contains", "contains"], ["does_not_contain", "does not contain"], ...SET],
    list: [["equal_to", "is"], ["not_equal_to", "is not"], ...SET],
    number: [["equal_to", "="], ["not_equal_to", "≠"], ["is_greater_than", "greater than"], ["is_less_than", "less than"], ...SET],
    date: [["equal_to", "on"], ["is_greater_than", "after"], ["is_less_than", "before"], ...SET],
    checkbox: [["equal_to", "is"]],
  };
  CUSTOM_OPERATORS.currency = CUSTOM_OPERATORS.number;
  CUSTOM_OPERATORS.percent = CUSTOM_OPERATORS.number;
  const customDef = (attribute) => customDefs.find((d) => d.attribute_key === attribute);
  const operatorsFor = (attribute) => {
    const d = customDef(attribute);
    return OPERATORS[attribute] || (d && CUSTOM_OPERATORS[d.attribute_display_type]) || [["equal_to", "is"]];
  };
  function addCustomOptions(select) {
    if (!customDefs.length || select.querySelector("optgroup")) return;
    const group = document.createElement("optgroup");
    group.label = "Custom attributes";
    customDefs.forEach((d) => group.appendChild(new Option(d.attribute_display_name, d.attribute_key)));
    select.appendChild(group);
  }

  async function valuesFor(attribute) {
    if (STATIC_VALUES[attribute]) return STATIC_VALUES[attribute];
    const d = customDef(attribute);
    if (d && d.attribute_display_type === "list") return d.attribute_values.map((v) => [v, v]);
    if (d && d.attribute_display_type === "checkbox") return [["true", "Yes"], ["false", "No"]];
    const o = await accountOptions();
    return { assignee_id: o.agents, inbox_id: o.inboxes, team_id: o.teams, labels: o.labels, sla_policy_id: o.slas }[attribute] || [];
  }

  async function syncRow(li, keep) {
    const attribute = li.querySelector("[data-attribute]").value;
    const opSel = li.querySelector("[data-operator]");
    const previousOp = keep && keep.op ? keep.op : opSel.value;
    const ops = operatorsFor(attribute);
    fill(opSel, ops.map(([v, t]) => [v, t]), 0);
    if (ops.some(([v]) => v === previousOp)) opSel.value = previousOp;
    const op = opSel.value;
    const valueSel = li.querySelector("[data-value-select]");
    const date = li.querySelector("[data-value-date]");
    const days = li.querySelector("[data-value-days]");
    const text = li.querySelector("[data-value-text]");
    const d = customDef(attribute);
    const kind = d ? d.attribute_display_type : null;
    const isDate = attribute === "created_at" || attribute === "last_activity_at" || kind === "date";
    const isText = !!kind && kind !== "list" && kind !== "checkbox" && kind !== "date";
    const noValue = op === "is_present" || op === "is_not_present";
    valueSel.hidden = isDate || isText || noValue;
    date.hidden = !isDate || noValue || op === "days_before";
    days.hidden = !isDate || op !== "days_before";
    text.hidden = !isText || noValue;
    text.inputMode = kind === "number" || kind === "currency" || kind === "percent" ? "decimal" : "text";
    if (isText && keep && keep.value !== undefined) text.value = String(keep.value);
    if (!isDate && !isText && !noValue) {
      const previous = keep && keep.value !== undefined ? String(keep.value) : valueSel.value;
      fill(valueSel, await valuesFor(attribute), 0);
      if (Array.from(valueSel.options).some((o) => o.value === previous)) valueSel.value = previous;
    }
    if (isDate && keep && keep.value !== undefined) {
      if (op === "days_before") days.value = keep.value; else date.value = String(keep.value).slice(0, 10);
    }
  }

  function addRow(condition, join) {
    const li = template.content.firstElementChild.cloneNode(true);
    conditionsEl.appendChild(li);
    li.querySelector("[data-join]").value = join || "AND";
    addCustomOptions(li.querySelector("[data-attribute]"));
    if (condition) li.querySelector("[data-attribute]").value = condition.attribute_key;
    li.querySelector("[data-attribute]").addEventListener("change", () => syncRow(li));
    li.querySelector("[data-operator]").addEventListener("change", () => syncRow(li));
    li.querySelector("[data-remove-condition]").addEventListener("click", () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      if (conditionsEl.children.length === 0) addRow();
      (next || conditionsEl.querySelector("[data-attribute]")).querySelector("select").focus();
    });
    const keep = condition ? { op: condition.filter_operator, value: (condition.values || [])[0] } : null;
    syncRow(li, keep);
    return li;
  }

  function payload() {
    const rows = Array.from(conditionsEl.children);
    return rows.map((li, i) => {
      const attribute = li.querySelector("[data-attribute]").value;
      const op = li.querySelector("[data-operator]").value;
      const d = customDef(attribute);
      const kind = d ? d.attribute_display_type : null;
      let values = [];
      if (op === "is_present" || op === "is_not_present") values = [];
      else if (op === "days_before") values = [li.querySelector("[data-value-days]").value];
      else if (attribute === "created_at" || attribute === "last_activity_at" || kind === "date") values = [li.querySelector("[data-value-date]").value];
      else if (kind && kind !== "list" && kind !== "checkbox") values = [li.querySelector("[data-value-text]").value];
      else values = [li.querySelector("[data-value-select]").value];
      const next = rows[i + 1];
      const condition = {
        attribute_key: attribute,
        filter_operator: op,
        values,
        query_operator: next ? next.querySelector("[data-join]").value : null,
      };
      if (d) condition.custom_attribute_type = "conversation_attribute";
      return condition;
    });
  }

  async function currentConditions() {
    const p = params();
    try {
      if (p.get("filter")) return JSON.parse(p.get("filter")).payload || [];
      if (p.get("view")) return ((await api("GET", `/custom_filters/${p.get("view")}`)).query || {}).payload || [];
    } catch (_) { /* start afresh */ }
    return [];
  }

  tools.querySelector("[data-open-filter]").addEventListener("click", async () => {
    filterError.textContent = "";
    conditionsEl.replaceChildren();
    customDefs = (await accountOptions()).custom;
    const existing = await currentConditions();
    if (existing.length === 0) addRow();
    existing.forEach((c, i) => addRow(c, i > 0 ? (existing[i - 1].query_operator || "AND").toUpperCase() : "AND"));
    dialog.showModal();
    const first = conditionsEl.querySelector("[data-attribute]");
    if (first) first.focus();
  });
  dialog.querySelector("[data-add-condition]").addEventListener("click", () => {
    addRow().querySelector("[data-attribute]").focus();
  });
  dialog.querySelector("[data-filter-cancel]").addEventListener("click", () => dialog.close());

  // Checks the payload with the server before leaving the page (422 names the part).
  async function validated() {
    const p = { payload: payload() };
    await api("POST", "/conversations/filter", p);
    return p;
  }

  dialog.querySelector("[data-apply-filter]").addEventListener("click", async () => {
    filterError.textContent = "";
    try {
      const p = await validated();
      const q = new URLSearchParams({ assignee_type: "all", filter: JSON.stringify(p) });
      const sort = params().get("sort_by");
      if (sort) q.set("sort_by", sort);
      window.location.assign(`${base}?${q.toString()}`);
    } catch (err) { filterError.textContent = err.message; }
  });

  dialog.querySelector("[data-save-view]").addEventListener("click", async () => {
    filterError.textContent = "";
    const nameEl = dialog.querySelector("[data-view-name]");
    const name = nameEl.value.trim();
    if (!name) { filterError.textContent = "Give the view a name."; nameEl.focus(); return; }
    try {
      const p = await validated();
      const view = await api("POST", "/custom_filters", { name, filter_type: "conversation", query: p });
      window.location.assign(`${base}?assignee_type=all&view=${view.id}`);
    } catch (err) { filterError.textContent = err.message; }
  });

  render();
})();
