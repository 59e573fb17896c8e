// Issue 13 (SLA policies): the SLA chips' countdown (list rows and thread header) and
// Settings → SLA (the policy editor). Texts are set with textContent; nothing builds HTML
// from strings. The chips are re-rendered by the server on live events (app.js swaps the
// list and header in); between events this counts them down from data-sla-due.
"use strict";

(function () {
  // ---------- countdown ----------
  function shortDuration(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.ceil(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h`;
    return `${Math.floor(s / 86400)}d`;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-sla-chip]").forEach((chip) => {
      const due = Number(chip.dataset.slaDue || 0);
      if (!due || chip.classList.contains("sla-breached")) return;
      const text = chip.querySelector(".sla-text");
      if (!text) return;
      const left = due - now;
      if (left <= 0) {
        chip.classList.add("sla-breached");
        text.textContent = "Breached";
      } else {
        const next = `${chip.dataset.slaKind} ${shortDuration(left)}`;
        if (text.textContent !== next) text.textContent = next;
      }
    });
  }
  tick();
  setInterval(tick, 1000);

  // ---------- Settings → SLA ----------
  const page = document.querySelector("[data-sla-settings]");
  if (!page) return;
  const accountId = page.dataset.slaSettings;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const KEYS = ["first_response_time_threshold", "next_response_time_threshold", "resolution_time_threshold"];

  async function call(method, path, payload) {
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
      throw new Error(json && json.field ? `${json.field}: ${msg}` : msg);
    }
    return json;
  }

  const dialog = document.getElementById("sla-editor");
  const form = document.getElementById("sla-form");
  const error = document.getElementById("sla-error");
  const status = document.getElementById("sla-status");
  let editing = null;

  // A threshold in seconds shown in the largest unit that divides it.
  function showThreshold(key, seconds) {
    const input = document.querySelector(`[data-threshold="${key}"]`);
    const unit = document.querySelector(`[data-unit="${key}"]`);
    if (!seconds) { input.value = ""; unit.value = "60"; return; }
    const u = [86400, 3600, 60].find((x) => seconds % x === 0) || 60;
    unit.value = String(u);
    input.value = String(Math.max(1, Math.round(seconds / u)));
  }

  function open(policy) {
    editing = policy ? policy.id : null;
    document.getElementById("sla-editor-title").textContent = policy ? "Edit SLA policy" : "New SLA policy";
    document.getElementById("sla-name").value = policy ? policy.name : "";
    document.getElementById("sla-description").value = policy ? policy.description || "" : "";
    KEYS.forEach((k) => showThreshold(k, policy ? policy[k] : null));
    document.getElementById("sla-business-hours").checked = !!(policy && policy.only_during_business_hours);
    error.textContent = "";
    dialog.showModal();
    document.getElementById("sla-name").focus();
  }

  const newBtn = document.getElementById("new-sla");
  if (newBtn) newBtn.addEventListener("click", () => open(null));
  if (dialog) document.getElementById("sla-cancel").addEventListener("click", () => dialog.close());

  if (form) form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const body = {
      name: document.getElementById("sla-name").value.trim(),
      description: document.getElementById("sla-description").value.trim(),
      only_during_business_hours: document.getElementById("sla-business-hours").checked,
    };
    for (const k of KEYS) {
      const v = document.querySelector(`[data-threshold="${k}"]`).value.trim();
      const unit = Number(document.querySelector(`[data-unit="${k}"]`).value);
      body[k] = v === "" ? null : Number(v) * unit;
    }
    if (!body.name) { error.textContent = "Give the policy a name."; return; }
    try {
      if (editing) await call("PATCH", `/sla_policies/${editing}`, body);
      else await call("POST", "/sla_policies", body);
      sessionStorage.setItem("sla-status", editing ? "Policy saved." : "Policy created.");
      window.location.reload();
    } catch (err) {
      error.textContent = err.message;
    }
  });

  document.addEventListener("click", async (e) => {
    const item = e.target.closest(".sla-item");
    if (!item) return;
    const policy = JSON.parse(item.dataset.json);
    if (e.target.closest(".sla-edit")) open(policy);
    if (e.target.closest(".sla-delete")) {
      if (!window.confirm(`Delete “${policy.name}”? Conversations using it lose their SLA.`)) return;
      try {
        await call("DELETE", `/sla_policies/${policy.id}`);
        sessionStorage.setItem("sla-status", "Policy deleted.");
        window.location.reload();
      } catch (err) {
        status.textContent = err.message;
      }
    }
  });

  const saved = sessionStorage.getItem("sla-status");
  if (saved) { status.textContent = saved; sessionStorage.removeItem("sla-status"); }
})();
