// Interactive messages from the composer (issue 12): the "Interactive" button opens a dialog
// (templates/partials/interactive_builder.html) that builds reply buttons (1–3), a list
// (sections and rows, 10 rows in all), a link button (CTA URL) or a location request, with
// a live preview as the customer's WhatsApp shows it, and sends it through the API's
// POST …/conversations/{id}/messages (content_type input_select / cta_url / location_request,
// README "Interactive messages"). Meta's limits are counted as the agent types; the server
// checks them again and its 422 `field` points at the input to fix.
// Only while the 24-hour window is open and in Reply mode: otherwise the button says why.
// Every text is set with textContent: nothing here builds HTML from strings.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const $ = (id) => document.getElementById(id);
  const displayId = () => { const t = $("thread"); return t ? t.dataset.displayId : ""; };
  const chars = (s) => Array.from(s || "").length;

  // Meta's limits (graph-api-notes.md §2–§5; src/whatsapp/interactive.rs).
  const MAX_BUTTONS = 3, MAX_SECTIONS = 10, MAX_ROWS = 10;
  const LIMITS = { buttonTitle: 20, sectionTitle: 24, rowTitle: 24, rowDescription: 72 };
  const BODY_MAX = { buttons: 1024, list: 4096, cta: 1024, location: 1024 };
  const WINDOW_CLOSED_TEXT = "Buttons, lists, links and location requests need the 24-hour window open: send an approved template first.";
  const NOTE_ONLY_TEXT = "Private notes are text only: switch to Reply to send an interactive message.";

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || k === "for" || k === "role") e.setAttribute(k, v);
      else e[k] = v;
    });
    children.filter(Boolean).forEach((c) => e.append(c));
    return e;
  }

  // ---------- availability: window open and Reply mode ----------
  function unavailableReason() {
    const header = document.querySelector(".thread-header");
    const mode = document.querySelector('input[name="mode"]:checked');
    if (mode && mode.value === "note") return NOTE_ONLY_TEXT;
    if (!header || header.dataset.canReply !== "true") {
      const note = $("window-closed-note");
      return (note && note.textContent.trim()) || "The 24-hour customer service window is closed: send an approved template.";
    }
    return "";
  }
  function syncButton() {
    const button = $("open-interactive");
    if (!button) return;
    const reason = unavailableReason();
    // aria-disabled (not disabled) keeps it focusable, so its reason can be read and heard.
    button.setAttribute("aria-disabled", reason ? "true" : "false");
    button.title = reason || "Send reply buttons, a list, a link button or a location request";
    $("interactive-reason").textContent = reason;
  }

  // ---------- the editors ----------
  let kind = "buttons";
  const counters = [];

  /** A labelled text input with a live "n/max" counter; `field` is the API's field name. */
  function textField(labelText, value, max, field, hidden) {
    const id = `ib-f-${Math.random().toString(36).slice(2, 9)}`;
    const input = el("input", { type: "text", id, value: value || "", autocomplete: "off", "data-field": field, "data-max": String(max) });
    const label = el("label", { for: id, text: labelText, class: hidden ? "visually-hidden" : "" });
    const wrap = el("div", { class: "field ib-inline" }, label, input);
    watchCount(input);
    return { wrap, input };
  }

  /** Shows "n/max" after a field with data-max, marked when over. */
  function watchCount(input) {
    if (input.dataset.counted) return;
    input.dataset.counted = "1";
    const counter = el("span", { class: "ib-count muted small", "aria-hidden": "true" });
    input.after(counter);
    counters.push([input, counter]);
    updateCount(input, counter);
  }
  function updateCount(input, counter) {
    const max = Number(input.dataset.max);
    const n = chars(input.value);
    counter.textContent = `${n}/${max}`;
    counter.classList.toggle("over", n > max);
    if (n > max) input.setAttribute("aria-invalid", "true");
    else if (input.getAttribute("aria-invalid") === "true" && !input.dataset.serverError) input.removeAttribute("aria-invalid");
  }

  function removeButton(label, onRemove) {
    const b = el("button", { type: "button", class: "ib-remove", text: "✕", "aria-label": label, title: label });
    b.addEventListener("click", onRemove);
    return b;
  }

  function renumberButtons() {
    const items = Array.from($("ib-buttons").children);
    items.forEach((li, i) => {
      const input = li.querySelector("input");
      input.dataset.field = `content_attributes.items[${i}].title`;
      li.querySelector("label").textContent = `Button ${i + 1}`;
      li.querySelector(".ib-remove").setAttribute("aria-label", `Remove button ${i + 1}`);
      li.querySelector(".ib-remove").hidden = items.length === 1;
    });
    $("ib-add-button").hidden = items.length >= MAX_BUTTONS;
  }
  function addButton(title, focus) {
    const list = $("ib-buttons");
    if (list.children.length >= MAX_BUTTONS) return;
    const { wrap, input } = textField("Button", title, LIMITS.buttonTitle, "");
    const li = el("li", { class: "ib-item" }, wrap);
    li.append(removeButton("Remove button", () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      renumberButtons();
      preview();
      if (next) next.querySelector("input").focus(); else $("ib-add-button").focus();
    }));
    list.append(li);
    renumberButtons();
    if (focus) input.focus();
  }

  function rowCount() { return $("ib-sections").querySelectorAll(".ib-row").length; }
  function renumberList() {
    const sections = Array.from($("ib-sections").children);
    sections.forEach((sec, s) => {
      sec.querySelector(".ib-section-title input").dataset.field = `content_attributes.sections[${s}].title`;
      const sectionLabel = sec.querySelector(".ib-section-title label");
      if (sections.length === 1) sectionLabel.replaceChildren("Section title ", el("span", { class: "muted small", text: "(optional)" }));
      else sectionLabel.textContent = `Section ${s + 1} title`;
      const removeSection = sec.querySelector(":scope > .ib-section-head .ib-remove");
      removeSection.hidden = sections.length === 1;
      removeSection.setAttribute("aria-label", `Remove section ${s + 1}`);
      const rows = Array.from(sec.querySelectorAll(".ib-row"));
      rows.forEach((row, r) => {
        const [title, description] = row.querySelectorAll("input");
        title.dataset.field = `content_attributes.sections[${s}].items[${r}].title`;
        description.dataset.field = `content_attributes.sections[${s}].items[${r}].description`;
        const labels = row.querySelectorAll("label");
        labels[0].textContent = `Section ${s + 1}, row ${r + 1} title`;
        labels[1].textContent = `Section ${s + 1}, row ${r + 1} description (optional)`;
        const remove = row.querySelector(".ib-remove");
        remove.hidden = rows.length === 1;
        remove.setAttribute("aria-label", `Remove row ${r + 1} of section ${s + 1}`);
      });
    });
    const n = rowCount();
    $("ib-row-count").textContent = `${n} of ${MAX_ROWS} rows`;
    $("ib-add-section").hidden = sections.length >= MAX_SECTIONS || n >= MAX_ROWS;
    $("ib-sections").querySelectorAll(".ib-add-row").forEach((b) => { b.hidden = n >= MAX_ROWS; });
  }
  function addRow(rows, title, description, focus) {
    if (rowCount() >= MAX_ROWS) return;
    const t = textField("Row title", title, LIMITS.rowTitle, "", true);
    t.input.placeholder = "Row title";
    const d = textField("Row description", description, LIMITS.rowDescription, "", true);
    d.input.placeholder = "Description (optional)";
    const li = el("li", { class: "ib-row" }, el("div", { class: "ib-row-fields" }, t.wrap, d.wrap));
    li.append(removeButton("Remove row", () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      renumberList();
      preview();
      if (next) next.querySelector("input").focus();
    }));
    rows.append(li);
    renumberList();
    if (focus) t.input.focus();
  }
  function addSection(title, rowsData, focus) {
    const container = $("ib-sections");
    if (container.children.length >= MAX_SECTIONS || rowCount() >= MAX_ROWS) return;
    const t = textField("Section title", title, LIMITS.sectionTitle, "");
    t.wrap.classList.add("ib-section-title");
    t.input.placeholder = "Section title";
    const section = el("fieldset", { class: "ib-section" });
    const rows = el("ol", { class: "ib-rows" });
    const addRowButton = el("button", { type: "button", class: "ib-add-row link-button", text: "Add a row" });
    addRowButton.addEventListener("click", () => { addRow(rows, "", "", true); preview(); });
    const head = el("div", { class: "ib-section-head" }, t.wrap);
    head.append(removeButton("Remove section", () => {
      const next = section.nextElementSibling || section.previousElementSibling;
      section.remove();
      renumberList();
      preview();
      if (next) next.querySelector("input").focus(); else $("ib-add-section").focus();
    }));
    section.append(head, rows, addRowButton);
    container.append(section);
    (rowsData.length ? rowsData : [["", ""]]).forEach(([rt, rd]) => addRow(rows, rt, rd, false));
    renumberList();
    if (focus) t.input.focus();
  }

  function showKind() {
    kind = (document.querySelector('input[name="ib-kind"]:checked') || {}).value || "buttons";
    document.querySelectorAll("#ib-fields [data-ib-kind]").forEach((x) => { x.hidden = x.dataset.ibKind !== kind; });
    document.querySelectorAll("#ib-fields [data-ib-not]").forEach((x) => { x.hidden = x.dataset.ibNot === kind; });
    showHeader();
    const bodyInput = $("ib-body");
    bodyInput.dataset.max = String(BODY_MAX[kind]);
    counters.forEach(([i, c]) => { if (i === bodyInput) updateCount(i, c); });
    clearErrors();
    preview();
  }

  // h12: a media header (image, video or document by https link) on reply buttons and a
  // link button; a list's header is text only, a location request has none.
  const mediaHeaderKinds = ["buttons", "cta"];
  function headerType() {
    const select = $("ib-header-type");
    return select && mediaHeaderKinds.includes(kind) ? select.value : "text";
  }
  function showHeader() {
    const select = $("ib-header-type");
    if (!select) return;
    const type = headerType();
    const hide = (sel, hidden) => document.querySelectorAll(`#ib-fields ${sel}`).forEach((x) => { x.hidden = hidden; });
    hide("[data-ib-header-kinds]", !mediaHeaderKinds.includes(kind));
    hide("[data-ib-header-text]", kind === "location" || type !== "text");
    hide("[data-ib-header-media]", type === "text");
    hide("[data-ib-header-document]", type !== "document");
  }

  function reset() {
    // Inputs of an earlier dialog (another thread, removed rows) are gone: forget them.
    counters.splice(0, counters.length, ...counters.filter(([i]) => i.isConnected));
    $("ib-form").reset();
    $("ib-buttons").replaceChildren();
    $("ib-sections").replaceChildren();
    addButton("", false);
    addButton("", false);
    addSection("", [], false);
    ["ib-header", "ib-body", "ib-footer", "ib-list-button", "ib-cta-text", "ib-cta-url"].forEach((id) => watchCount($(id)));
    if ($("ib-header-link")) ["ib-header-link", "ib-header-filename"].forEach((id) => watchCount($(id)));
    counters.forEach(([i, c]) => { if (i.isConnected) updateCount(i, c); });
    const draft = $("composer-text");
    if (draft && draft.value.trim()) $("ib-body").value = draft.value.trim();
    clearErrors();
    showKind();
  }

  // ---------- what is sent ----------
  const value = (id) => $(id).value.trim();
  function payload() {
    const attrs = {};
    if (kind !== "location") {
      const type = headerType();
      if (type !== "text") {
        attrs.header = { type, link: value("ib-header-link") };
        if (type === "document" && value("ib-header-filename")) attrs.header.filename = value("ib-header-filename");
      } else if (value("ib-header")) attrs.header = value("ib-header");
      if (value("ib-footer")) attrs.footer = value("ib-footer");
    }
    const p = { content: value("ib-body"), message_type: "outgoing", private: false, content_attributes: attrs };
    if (kind === "buttons") {
      p.content_type = "input_select";
      attrs.items = Array.from($("ib-buttons").querySelectorAll("input")).map((i) => ({ title: i.value.trim() }));
    } else if (kind === "list") {
      p.content_type = "input_select";
      attrs.button_text = value("ib-list-button");
      attrs.sections = Array.from($("ib-sections").children).map((sec) => ({
        title: sec.querySelector(".ib-section-title input").value.trim(),
        items: Array.from(sec.querySelectorAll(".ib-row")).map((row) => {
          const [t, d] = row.querySelectorAll("input");
          const item = { title: t.value.trim() };
          if (d.value.trim()) item.description = d.value.trim();
          return item;
        }),
      }));
    } else if (kind === "cta") {
      p.content_type = "cta_url";
      attrs.display_text = value("ib-cta-text");
      attrs.url = value("ib-cta-url");
    } else {
      p.content_type = "location_request";
    }
    return p;
  }

  // ---------- the preview, as the customer's WhatsApp shows it ----------
  function preview() {
    const box = $("ib-preview");
    if (!box) return;
    const p = payload();
    const a = p.content_attributes;
    const bubble = el("div", { class: "wa-bubble" });
    if (typeof a.header === "object") {
      // The media itself is not loaded here (the CSP loads no image from other sites).
      const name = a.header.filename || (a.header.link || "").split("/").pop() || "";
      const label = `${a.header.type[0].toUpperCase()}${a.header.type.slice(1)}`;
      bubble.append(el("p", { class: "wa-header wa-media-header", dir: "auto", text: name ? `${label}: ${name}` : label }));
    } else if (a.header) bubble.append(el("p", { class: "wa-header", text: a.header, dir: "auto" }));
    bubble.append(el("p", { class: "wa-body", text: p.content || "Body text", dir: "auto" }));
    if (!p.content) bubble.lastChild.classList.add("wa-placeholder");
    if (a.footer) bubble.append(el("p", { class: "wa-footer", text: a.footer, dir: "auto" }));
    const actions = el("div", { class: "wa-actions" });
    const action = (icon, text) => el("span", { class: "wa-action", dir: "auto" },
      icon ? el("span", { "aria-hidden": "true", text: `${icon} ` }) : null, text);
    let sheet = null;
    if (kind === "buttons") {
      a.items.forEach((item, i) => actions.append(action("↩", item.title || `Button ${i + 1}`)));
    } else if (kind === "list") {
      actions.append(action("☰", a.button_text || "Choose an item"));
      sheet = el("div", { class: "wa-sheet" }, el("p", { class: "wa-sheet-title", text: a.button_text || "Choose an item", dir: "auto" }));
      a.sections.forEach((s) => {
        // A lone section without a title is sent titled by the list's button (the server's rule).
        const heading = s.title || (a.sections.length === 1 ? a.button_text || "Choose an item" : "Section title");
        sheet.append(el("p", { class: "wa-sheet-section", text: heading, dir: "auto" }));
        const ul = el("ul");
        s.items.forEach((r) => ul.append(el("li", {},
          el("span", { class: "wa-row-text" }, el("span", { class: "wa-row-title", text: r.title || "Row title", dir: "auto" }),
            r.description ? el("span", { class: "wa-row-description", text: r.description, dir: "auto" }) : null),
          el("span", { class: "wa-radio", "aria-hidden": "true" }))));
        sheet.append(ul);
      });
    } else if (kind === "cta") {
      actions.append(action("↗", a.display_text || "Button text"));
    } else {
      actions.append(action("📍", "Send location"));
    }
    bubble.append(actions);
    box.replaceChildren(bubble);
    if (sheet) box.append(sheet);
  }

  // ---------- errors ----------
  function clearErrors() {
    $("ib-error").textContent = "";
    document.querySelectorAll("#ib-fields [data-server-error]").forEach((i) => {
      delete i.dataset.serverError;
      i.removeAttribute("aria-invalid");
    });
  }
  function showError(message, field) {
    $("ib-error").textContent = message;
    const input = field && Array.from(document.querySelectorAll("#ib-fields [data-field]"))
      .find((i) => i.dataset.field === field && !i.closest("[hidden]"));
    if (input) {
      input.dataset.serverError = "1";
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
  /** The first problem the server would refuse, checked here so the agent sees it at once. */
  function localProblem() {
    const inputs = Array.from(document.querySelectorAll("#ib-fields input[data-field], #ib-fields textarea[data-field]"))
      .filter((i) => !i.closest("[hidden]"));
    for (const i of inputs) {
      const n = chars(i.value.trim());
      const max = Number(i.dataset.max);
      const label = (i.labels && i.labels[0] ? i.labels[0].textContent : "This field").replace(/\s*\(optional\)\s*$/, "");
      if (n > max) return [`${label} is limited to ${max} characters on WhatsApp (it has ${n}).`, i.dataset.field];
      const loneSection = i.dataset.field === "content_attributes.sections[0].title" && $("ib-sections").children.length === 1;
      const optional = i.id === "ib-header" || i.id === "ib-footer" || i.id === "ib-header-filename" || i.dataset.field.endsWith(".description") || loneSection;
      if (!n && !optional) return [`${label} is required.`, i.dataset.field];
    }
    return null;
  }

  // ---------- open and send ----------
  function open() {
    const reason = unavailableReason();
    if (reason) {
      const error = $("composer-error");
      if (error) error.textContent = reason === NOTE_ONLY_TEXT ? reason : WINDOW_CLOSED_TEXT;
      return;
    }
    const dialog = $("interactive-builder");
    if (!dialog || !dialog.showModal) return;
    reset();
    dialog.showModal();
    $("ib-body").focus();
  }

  async function send() {
    clearErrors();
    const problem = localProblem();
    if (problem) { showError(problem[0], problem[1]); return; }
    const button = $("ib-send");
    button.disabled = true;
    try {
      const resp = await fetch(`/api/v1/accounts/${accountId}/conversations/${displayId()}/messages`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(payload()),
      });
      let json = null;
      try { json = await resp.json(); } catch (_) { json = null; }
      if (!resp.ok) {
        showError((json && json.error) || `The server answered ${resp.status}`, json && json.field);
        return;
      }
      $("interactive-builder").close();
      const draft = $("composer-text");
      if (draft && draft.value.trim() === value("ib-body")) {
        draft.value = "";
        draft.dispatchEvent(new Event("input", { bubbles: true }));
      }
      if (window.switchboardShowMessage) await window.switchboardShowMessage(json.id);
      if (window.switchboardToast) window.switchboardToast("Interactive message sent", "success");
    } catch (err) {
      showError(err.message);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (e) => {
    const target = e.target.closest("button");
    if (!target) return;
    if (target.id === "open-interactive") open();
    else if (target.id === "ib-send") send();
    else if (target.id === "ib-add-button") { addButton("", true); preview(); }
    else if (target.id === "ib-add-section") { addSection("", [], true); preview(); }
  });
  document.addEventListener("input", (e) => {
    if (!e.target.closest || !e.target.closest("#interactive-builder")) return;
    const pair = counters.find(([i]) => i === e.target);
    if (pair) updateCount(pair[0], pair[1]);
    if (e.target.dataset.serverError) {
      // The agent is fixing what the error named: the error goes with it.
      delete e.target.dataset.serverError;
      e.target.removeAttribute("aria-invalid");
      $("ib-error").textContent = "";
    }
    preview();
  });
  document.addEventListener("change", (e) => {
    if (e.target.name === "ib-kind") showKind();
    if (e.target.id === "ib-header-type") { clearErrors(); showHeader(); preview(); }
    if (e.target.name === "mode") syncButton();
  });
  document.addEventListener("close", (e) => {
    if (e.target.id !== "interactive-builder") return;
    const opener = $("open-interactive");
    if (opener) opener.focus();
  }, true);

  // The thread and its header are swapped in by other modules: keep the button's state.
  syncButton();
  new MutationObserver(() => {
    const b = $("open-interactive");
    const reason = unavailableReason();
    if (b && (b.getAttribute("aria-disabled") === "true") !== Boolean(reason)) syncButton();
    else if (b && !b.hasAttribute("aria-disabled")) syncButton();
  }).observe(body, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-can-reply"] });
})();
