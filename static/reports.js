// The Reports page (issue 14): fills templates/reports.html from the v2 reports API with the
// session cookie, draws charts with uPlot (vendored from npm, /static/vendor/uplot.js) and
// writes a table beside each chart. Everything is set with textContent, never HTML strings.
// The "Right now" overview recounts when app.js relays a conversation or presence event.
"use strict";

(function () {
  const page = document.querySelector("[data-reports]");
  if (!page) return;
  const accountId = document.body.dataset.accountId;
  const root = `/api/v2/accounts/${accountId}`;
  const base = `${root}/reports`;
  const $ = (id) => document.getElementById(id);
  const status = $("reports-status");
  const charts = {};

  function el(tag, props, children) {
    const e = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    });
    (children || []).forEach((c) => e.appendChild(c));
    return e;
  }

  function duration(s) {
    if (s === null || s === undefined || Number.isNaN(s)) return "–";
    s = Math.round(s);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  function pct(v) { return v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`; }

  function table(target, headers, rows, caption) {
    const t = el("table", { class: "reports-data" });
    if (caption) t.appendChild(el("caption", { class: "visually-hidden", text: caption }));
    t.appendChild(el("thead", {}, [el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))]));
    const tb = el("tbody");
    rows.forEach((r) => tb.appendChild(el("tr", {}, r.map((c) => {
      const td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      return td;
    }))));
    if (!rows.length) tb.appendChild(el("tr", {}, [el("td", { colspan: String(headers.length), class: "muted", text: "Nothing in this range" })]));
    t.appendChild(tb);
    const box = $(target);
    Array.from(box.querySelectorAll("table")).forEach((x) => x.remove());
    box.appendChild(t);
  }

  function kpis(target, items) {
    const box = $(target);
    box.replaceChildren(...items.map(([label, value, hint]) => el("div", { class: "reports-kpi" }, [
      el("span", { class: "reports-kpi-value", text: String(value) }),
      el("span", { class: "reports-kpi-label", text: label }),
    ].concat(hint ? [el("span", { class: "reports-kpi-hint muted", text: hint })] : []))));
  }

  // ---------- the range ----------
  const zoneSelect = $("reports-zone");
  const localZone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "UTC";
  [localZone, "UTC"].filter((z, i, a) => a.indexOf(z) === i).forEach((z) =>
    zoneSelect.appendChild(el("option", { value: z, text: z === localZone ? `${z} (this device)` : z })));
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const today = new Date();
  const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  const params = new URLSearchParams(location.search);
  $("reports-from").value = params.get("from") || iso(weekAgo);
  $("reports-to").value = params.get("to") || iso(today);
  if (params.get("group_by")) $("reports-group").value = params.get("group_by");
  if (params.get("business_hours") === "true") $("reports-bh").checked = true;

  // Local midnight of a YYYY-MM-DD in the chosen zone (this device's, or UTC), unix seconds.
  function midnight(value, plusDays) {
    const [y, m, d] = value.split("-").map(Number);
    const t = zoneSelect.value === "UTC" ? Date.UTC(y, m - 1, d + plusDays) : new Date(y, m - 1, d + plusDays).getTime();
    return Math.floor(t / 1000);
  }

  function query(extra) {
    const q = new URLSearchParams({
      since: String(midnight($("reports-from").value, 0)),
      until: String(midnight($("reports-to").value, 1)),
      group_by: $("reports-group").value,
      timezone: zoneSelect.value,
      business_hours: $("reports-bh").checked ? "true" : "false",
    });
    Object.entries(extra || {}).forEach(([k, v]) => q.set(k, v));
    return q.toString();
  }

  async function get(path, extra) {
    const r = await fetch(`${root}${path}?${query(extra)}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.message || body.error || `HTTP ${r.status}`);
    return body;
  }

  // ---------- charts ----------
  function css(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }

  function draw(id, opts, data) {
    const box = $(id);
    if (!window.uPlot) return;
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    const width = Math.max(260, box.clientWidth - 4);
    const axis = { stroke: css("--muted", "#5f6b7a"), grid: { stroke: css("--line", "#dde2e8"), width: 1 }, ticks: { stroke: css("--line", "#dde2e8") } };
    opts.width = width;
    opts.height = window.innerWidth < 700 ? 200 : 260;
    opts.axes = (opts.axes || [{}, {}]).map((a) => Object.assign({}, axis, a));
    charts[id] = new window.uPlot(opts, data, box);
  }

  const palette = () => [css("--accent", "#1a5fd0"), "#16a34a", "#d97706", "#9333ea"];

  function periodLabel() {
    const group = $("reports-group").value;
    return group === "week" ? "Week of" : group === "month" ? "Month" : "Day";
  }

  function periodText(ts) {
    const d = new Date(ts * 1000);
    const opts = zoneSelect.value === "UTC" ? { timeZone: "UTC" } : {};
    if ($("reports-group").value === "month") return d.toLocaleDateString(undefined, Object.assign({ year: "numeric", month: "short" }, opts));
    return d.toLocaleDateString(undefined, Object.assign({ year: "numeric", month: "short", day: "numeric" }, opts));
  }

  function drawConversations(series) {
    const names = ["Created", "Resolved", "Received", "Sent"];
    const xs = series[0].map((p) => p.timestamp);
    const colours = palette();
    draw("chart-conversations", {
      title: "",
      scales: { x: { time: true } },
      series: [{}].concat(names.map((n, i) => ({ label: n, stroke: colours[i], width: 2, points: { show: xs.length < 40 } }))),
      axes: [{}, { size: 50 }],
      legend: { show: true },
    }, [xs].concat(series.map((s) => s.map((p) => p.value))));
    table("table-conversations", [periodLabel()].concat(names),
      xs.map((ts, i) => [periodText(ts)].concat(series.map((s) => String(s[i].value)))), "Conversations per period");
  }

  function drawDistribution(first) {
    const labels = ["< 1h", "1–4h", "4–8h", "8–24h", "> 24h"];
    const xs = [0, 1, 2, 3, 4];
    const bars = window.uPlot && window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 80] }) : undefined;
    draw("chart-times", {
      scales: { x: { time: false, range: [-0.5, 4.5] } },
      series: [{}, { label: "First responses", stroke: palette()[0], fill: css("--accent-soft", "#e8f0fe"), width: 2, paths: bars, points: { show: false } }],
      axes: [{ values: (u, vals) => vals.map((v) => labels[v] || ""), splits: () => xs }, { size: 40 }],
      legend: { show: false },
    }, [xs, first.distribution]);
  }

  // ---------- sections ----------
  async function loadOverview() {
    const o = await get("/reports/overview");
    kpis("overview-kpis", [["Open", o.total.open], ["Unattended", o.total.unattended, "waiting for a reply"], ["Unassigned", o.total.unassigned], ["Pending", o.total.pending]]);
    const link = (text, q) => el("a", { href: `/app/accounts/${accountId}/conversations?${q}`, text });
    table("overview-inboxes", ["Inbox", "Open", "Unattended", "Unassigned", "Pending"],
      o.inboxes.map((i) => [link(i.name, `inbox_id=${i.id}`), String(i.open), String(i.unattended), String(i.unassigned), String(i.pending)]), "Open work by inbox");
    table("overview-teams", ["Team", "Open", "Unattended", "Unassigned", "Pending"],
      o.teams.filter((t) => t.id !== 0 || t.open + t.pending > 0).map((t) => [t.id ? link(t.name, `team_id=${t.id}`) : t.name, String(t.open), String(t.unattended), String(t.unassigned), String(t.pending)]), "Open work by team");
    table("overview-agents", ["Agent", "Status", "Open"],
      o.agents.map((a) => [a.name, el("span", { class: "reports-presence" }, [el("span", { class: `presence presence-${a.availability}`, "aria-hidden": "true" }), document.createTextNode(` ${a.availability}`)]), String(a.open)]), "Agents");
    $("overview-updated").textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
  }

  function agentFilter(id) {
    return `filter=${encodeURIComponent(JSON.stringify({ payload: [{ attribute_key: "assignee_id", filter_operator: "equal_to", values: [id] }] }))}`;
  }

  async function loadBreakdown() {
    const by = $("breakdown-by").value;
    const rows = await get(`/summary_reports/${by}`);
    const target = (r) => by === "inbox" ? `inbox_id=${r.id}` : by === "team" ? `team_id=${r.id}` : by === "label" ? `label=${encodeURIComponent(r.name)}` : agentFilter(r.id);
    table("table-breakdown", [by[0].toUpperCase() + by.slice(1), "Conversations", "Resolved", "Received", "Sent", "First response", "Resolution", "Reply"],
      rows.map((r) => [el("a", { href: `/app/accounts/${accountId}/conversations?status=all&${target(r)}`, text: r.name }), String(r.conversations_count), String(r.resolved_conversations_count),
        String(r.incoming_messages_count), String(r.outgoing_messages_count), duration(r.avg_first_response_time), duration(r.avg_resolution_time), duration(r.avg_reply_time)]), `Figures by ${by}`);
    const exp = $("breakdown-export");
    exp.dataset.export = { agent: "agents", inbox: "inboxes", team: "teams", label: "labels" }[by];
    setExports();
  }

  async function loadRange() {
    const metrics = ["conversations_count", "resolutions_count", "incoming_messages_count", "outgoing_messages_count"];
    const [summary, times, csat, wa, sla, ...series] = await Promise.all([
      get("/reports/summary"), get("/reports/times"), get("/reports/csat"), get("/reports/whatsapp"), get("/reports/sla"),
      ...metrics.map((m) => get("/reports", { metric: m })),
    ]);
    const bh = $("reports-bh").checked ? " (business hours)" : "";
    kpis("summary-kpis", [["Created", summary.conversations_count], ["Resolved", summary.resolutions_count],
      ["Messages received", summary.incoming_messages_count], ["Messages sent", summary.outgoing_messages_count]]);
    drawConversations(series);
    const [first, resolution, reply] = times;
    kpis("times-kpis", [
      ["First response, median" + bh, duration(first.median), `p90 ${duration(first.p90)}`],
      ["Resolution, median" + bh, duration(resolution.median), `p90 ${duration(resolution.p90)}`],
      ["Reply, median" + bh, duration(reply.median), `p90 ${duration(reply.p90)}`],
    ]);
    drawDistribution(first);
    table("table-times", ["Measure", "Count", "Average", "Median", "p90"],
      [["First response", first], ["Resolution", resolution], ["Reply", reply]].map(([n, t]) => [n, String(t.count), duration(t.avg), duration(t.median), duration(t.p90)]), "Times");
    kpis("csat-kpis", [["Response rate", pct(csat.response_rate), `${csat.answered} of ${csat.sent} surveys`], ["Satisfied", pct(csat.satisfaction_score), "ratings 4–5"],
      ["Average rating", csat.average_rating === null ? "–" : csat.average_rating.toFixed(2)]]);
    table("table-csat", ["Conversation", "Rating", "Comment"], csat.comments.map((c) =>
      [el("a", { href: `/app/accounts/${accountId}/conversations/${c.display_id}`, text: `#${c.display_id}` }), String(c.rating), c.feedback_message]), "CSAT comments");
    table("table-templates", ["Template", "Category", "Sent"], wa.templates.map((t) => [t.key, t.category, String(t.count)]), "Templates sent");
    table("table-failures", ["Meta error code", "Messages"], wa.failures.map((t) => [t.key, String(t.count)]), "Failed messages");
    kpis("windows-kpis", [["Closed unanswered", wa.total_windows_closed_unanswered]]);
    table("table-windows", [periodLabel(), "Windows"], wa.windows_closed_unanswered.filter((p) => p.count > 0)
      .map((p) => [periodText(p.timestamp), String(p.count)]), "Service windows closed unanswered per period");
    kpis("sla-kpis", [["Hit rate", pct(sla.hit_rate), `${sla.hit} hit, ${sla.missed} missed`], ["Breaches", sla.breaches.total, "missed deadlines"],
      ["Running", sla.active, `of ${sla.number_of_conversations} applied`]]);
    table("table-sla", ["Policy", "Applied", "Hit rate", "Hit", "Missed", "Running", "First response breaches", "Next response breaches", "Resolution breaches"],
      sla.policies.map((p) => [p.name, String(p.number_of_conversations), pct(p.hit_rate), String(p.hit), String(p.missed), String(p.active),
        String(p.breaches.frt), String(p.breaches.nrt), String(p.breaches.rt)]), "SLA by policy");
    setExports();
  }

  function setExports() {
    document.querySelectorAll("[data-export]").forEach((a) => {
      a.href = `${base}/export/${a.dataset.export}?${query()}`;
      a.setAttribute("download", `${a.dataset.export}-report.csv`);
    });
    document.querySelectorAll("[data-export-rows]").forEach((a) => {
      a.href = `${base}/conversations.csv?${query()}`;
      a.setAttribute("download", "conversations-report.csv");
    });
  }

  async function loadAll() {
    status.textContent = "Loading…";
    page.dataset.loaded = "false";
    try {
      await Promise.all([loadRange(), loadBreakdown(), loadOverview()]);
      status.textContent = "";
      page.dataset.loaded = "true";
    } catch (err) {
      status.textContent = `The report could not be loaded: ${err.message}`;
      page.dataset.loaded = "error";
    }
  }

  $("reports-controls").addEventListener("submit", (e) => {
    e.preventDefault();
    if ($("reports-from").value > $("reports-to").value) {
      status.textContent = "The start date must be on or before the end date.";
      return;
    }
    const q = new URLSearchParams({ from: $("reports-from").value, to: $("reports-to").value, group_by: $("reports-group").value, business_hours: String($("reports-bh").checked) });
    history.replaceState(null, "", `?${q}`);
    loadAll();
  });
  $("breakdown-by").addEventListener("change", () => loadBreakdown().catch((err) => { status.textContent = err.message; }));

  let timer = null;
  const refreshOverview = () => {
    clearTimeout(timer);
    timer = setTimeout(() => loadOverview().catch(() => {}), 800);
  };
  document.addEventListener("switchboard:conversation-event", refreshOverview);
  document.addEventListener("switchboard:presence", refreshOverview);

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      Object.entries(charts).forEach(([id, u]) => {
        const w = Math.max(260, $(id).clientWidth - 4);
        u.setSize({ width: w, height: window.innerWidth < 700 ? 200 : 260 });
      });
    }, 150);
  });

  if (window.uPlot) loadAll(); else window.addEventListener("load", loadAll);
})();
