// Issue 13 (hours): the business hours, greeting, out-of-office and CSAT section of an
// inbox's settings (templates/settings/inbox_hours.html). Reads the inbox with
// GET /api/v1/accounts/{id}/inboxes/{inbox} and saves with PATCH (Chatwoot's working_hours
// rows, several per day). A 422 is shown under the field it names. Text is set with
// textContent only.
"use strict";

(function () {
  const section = document.getElementById("inbox-hours");
  if (!section) return;
  const accountId = document.body.dataset.accountId;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const url = `/api/v1/accounts/${accountId}/inboxes/${section.dataset.inboxId}`;
  const form = document.getElementById("ih-form");
  const status = document.getElementById("ih-status");
  const error = document.getElementById("ih-error");
  const saved = document.getElementById("ih-saved");
  const days = document.getElementById("ih-days");
  const el = (name) => document.getElementById(`ih-${name}`);
  const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  // Monday first, as people read a week.
  const ORDER = [1, 2, 3, 4, 5, 6, 0];

  async function call(method, body) {
    const resp = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    let json = null;
    try { json = await resp.json(); } catch (_) { json = null; }
    if (!resp.ok) {
      const err = new Error((json && (json.message || json.error)) || `The server answered ${resp.status}`);
      err.field = json && json.field;
      throw err;
    }
    return json;
  }

  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (h, m) => `${pad(h)}:${pad(m)}`;

  function rangeRow(day, open, close) {
    const wrap = document.createElement("span");
    wrap.className = "ih-range";
    const o = document.createElement("input");
    o.type = "time"; o.value = open; o.className = "ih-open";
    o.setAttribute("aria-label", `${DAY_NAMES[day]} opens at`);
    const c = document.createElement("input");
    c.type = "time"; c.value = close === "24:00" ? "23:59" : close; c.className = "ih-close";
    c.setAttribute("aria-label", `${DAY_NAMES[day]} closes at (23:59 means the end of the day)`);
    const dash = document.createElement("span");
    dash.textContent = "–"; dash.setAttribute("aria-hidden", "true");
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "ih-remove"; remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove this ${DAY_NAMES[day]} range`);
    remove.addEventListener("click", () => {
      const cell = wrap.parentElement;
      wrap.remove();
      if (!cell.querySelector(".ih-range")) cell.closest("tr").querySelector(".ih-day-open").checked = false;
      syncDay(cell.closest("tr"));
    });
    wrap.append(o, dash, c, remove);
    return wrap;
  }

  function syncDay(tr) {
    const open = tr.querySelector(".ih-day-open").checked;
    tr.querySelector(".ih-ranges").hidden = !open;
    tr.querySelector(".ih-add").hidden = !open;
    tr.querySelector(".ih-closed").hidden = open;
  }

  function buildDays(rows) {
    days.textContent = "";
    for (const day of ORDER) {
      const mine = rows.filter((r) => r.day_of_week === day && !r.closed_all_day);
      const tr = document.createElement("tr");
      tr.dataset.day = day;
      const th = document.createElement("th");
      th.scope = "row"; th.textContent = DAY_NAMES[day];
      const tdOpen = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox"; box.className = "ih-day-open"; box.checked = mine.length > 0;
      box.setAttribute("aria-label", `Open on ${DAY_NAMES[day]}`);
      tdOpen.append(box);
      const td = document.createElement("td");
      const ranges = document.createElement("span");
      ranges.className = "ih-ranges";
      for (const r of mine) {
        const all = r.open_all_day;
        ranges.append(rangeRow(day, all ? "00:00" : hhmm(r.open_hour, r.open_minutes),
          all ? "24:00" : hhmm(r.close_hour, r.close_minutes)));
      }
      const add = document.createElement("button");
      add.type = "button"; add.className = "ih-add"; add.textContent = "Add range";
      add.setAttribute("aria-label", `Add range on ${DAY_NAMES[day]}`);
      add.addEventListener("click", () => { ranges.append(rangeRow(day, "09:00", "17:00")); });
      const closed = document.createElement("span");
      closed.className = "muted ih-closed"; closed.textContent = "Closed";
      td.append(ranges, add, closed);
      box.addEventListener("change", () => {
        if (box.checked && !ranges.querySelector(".ih-range")) ranges.append(rangeRow(day, "09:00", "17:00"));
        syncDay(tr);
      });
      tr.append(th, tdOpen, td);
      days.append(tr);
      syncDay(tr);
    }
  }

  function readRows() {
    const rows = [];
    for (const tr of days.querySelectorAll("tr")) {
      const day = Number(tr.dataset.day);
      const open = tr.querySelector(".ih-day-open").checked;
      const ranges = [...tr.querySelectorAll(".ih-range")];
      if (!open || ranges.length === 0) { rows.push({ day_of_week: day, closed_all_day: true }); continue; }
      for (const r of ranges) {
        const [oh, om] = (r.querySelector(".ih-open").value || "00:00").split(":").map(Number);
        let [ch, cm] = (r.querySelector(".ih-close").value || "00:00").split(":").map(Number);
        // 23:59 is the end of the day (the time input cannot say 24:00).
        if (ch === 23 && cm === 59) { ch = 24; cm = 0; }
        rows.push({ day_of_week: day, closed_all_day: false, open_all_day: false,
          open_hour: oh, open_minutes: om, close_hour: ch, close_minutes: cm });
      }
    }
    return rows;
  }

  function fill(inbox) {
    const zones = (Intl.supportedValuesOf && Intl.supportedValuesOf("timeZone")) || [];
    const tz = el("timezone");
    tz.textContent = "";
    const all = zones.includes("UTC") ? zones : ["UTC", ...zones];
    if (!all.includes(inbox.timezone)) all.unshift(inbox.timezone);
    for (const z of all) {
      const o = document.createElement("option");
      o.value = z; o.textContent = z.replace(/_/g, " ");
      tz.append(o);
    }
    tz.value = inbox.timezone || "UTC";
    el("working_hours_enabled").checked = !!inbox.working_hours_enabled;
    buildDays(inbox.working_hours || []);
    el("holidays").value = (inbox.holidays || []).join("\n");
    el("out_of_office_message").value = inbox.out_of_office_message || "";
    el("greeting_enabled").checked = !!inbox.greeting_enabled;
    el("greeting_message").value = inbox.greeting_message || "";
    el("csat_survey_enabled").checked = !!inbox.csat_survey_enabled;
    el("csat_question").value = inbox.csat_question || "";
    el("csat_scale").value = inbox.csat_scale || "1-5";
    const tpl = el("csat_template");
    while (tpl.options.length > 1) tpl.remove(1);
    for (const t of inbox.message_templates || []) {
      if (t.status !== "APPROVED") continue;
      const o = document.createElement("option");
      o.value = `${t.name}|${t.language}`; o.textContent = `${t.name} (${t.language})`;
      tpl.append(o);
    }
    tpl.value = inbox.csat_template ? `${inbox.csat_template.name}|${inbox.csat_template.language}` : "";
  }

  function clearErrors() {
    error.hidden = true; error.textContent = "";
    section.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    section.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  }

  function showError(err) {
    const field = (err.field || "").replace(/\[.*$/, "").replace(/\..*$/, "");
    const slot = field && document.getElementById(`ih-${field}-error`);
    if (slot) {
      slot.textContent = err.message; slot.hidden = false;
      const input = el(field);
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    } else {
      error.textContent = err.message; error.hidden = false;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    saved.textContent = "";
    const tpl = el("csat_template").value;
    const body = {
      working_hours_enabled: el("working_hours_enabled").checked,
      timezone: el("timezone").value,
      working_hours: readRows(),
      holidays: el("holidays").value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
      out_of_office_message: el("out_of_office_message").value,
      greeting_enabled: el("greeting_enabled").checked,
      greeting_message: el("greeting_message").value,
      csat_survey_enabled: el("csat_survey_enabled").checked,
      csat_question: el("csat_question").value,
      csat_scale: el("csat_scale").value,
      csat_template: tpl ? { name: tpl.split("|")[0], language: tpl.split("|")[1] } : null,
    };
    const button = el("save");
    button.disabled = true;
    try {
      fill(await call("PATCH", body));
      saved.textContent = "Saved.";
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });

  call("GET").then((inbox) => {
    fill(inbox);
    status.hidden = true;
    form.hidden = false;
  }).catch((err) => {
    status.textContent = "";
    error.textContent = `Could not load these settings: ${err.message}`;
    error.hidden = false;
  });
})();
