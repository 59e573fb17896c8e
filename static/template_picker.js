// The WhatsApp template picker, shared by the composer's "Templates" dialog (app.js) and the
// "New conversation" dialog (new_conversation.js): a searchable list of approved templates,
// one input per parameter (header text or media URL, body placeholders, URL-button suffixes,
// copy codes), a live preview, and Chatwoot's `template_params` for the send. The server
// validates again (`domain::templates::render`). Everything is set with textContent.
"use strict";

(function () {
  const RE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

  /** Placeholder names of `text` in order of first appearance (`{{1}}` → "1"). */
  function placeholders(text) {
    const out = [];
    let m;
    RE.lastIndex = 0;
    while ((m = RE.exec(text || "")) !== null) if (!out.includes(m[1])) out.push(m[1]);
    return out;
  }
  const component = (t, type) => (t.components || []).find((c) => (c.type || "").toUpperCase() === type);
  const fill = (text, values) => (text || "").replace(RE, (all, k) => (values[k] ? values[k] : all));
  const bodyOf = (t) => (component(t, "BODY") || {}).text || "";

  /**
   * Mounts a picker on existing elements:
   * `{search, list, form, name, fields, preview}` (elements) and `prefix` (ids of the
   * parameter inputs: `<prefix>-body-1`, `<prefix>-header-1`, `<prefix>-header-media`,
   * `<prefix>-button-<i>`). `onChange(ready)` is called whenever the choice or a value
   * changes; `ready` is true when a template is chosen and every parameter has a value.
   * Returns `{setTemplates(list), reset(), chosen(), ready(), payload()}`; `payload()` is
   * `{content, template_params}` for `POST …/messages` or a new conversation's `message`.
   */
  function create(opts) {
    const els = opts.elements;
    const prefix = opts.prefix || "tpl";
    const onChange = opts.onChange || (() => {});
    let templates = [];
    let chosen = null;

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

    function renderList() {
      const q = (els.search.value || "").toLowerCase();
      els.list.replaceChildren();
      const shown = templates.filter((t) => !q || t.name.toLowerCase().includes(q) || bodyOf(t).toLowerCase().includes(q));
      if (!shown.length) {
        const li = document.createElement("li");
        li.className = "muted";
        li.textContent = templates.length ? "No template matches." : "No approved templates. An administrator can sync them in Settings.";
        els.list.append(li);
      }
      shown.forEach((t) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "template-choice";
        if (chosen === t) b.setAttribute("aria-pressed", "true");
        const name = document.createElement("strong");
        name.textContent = `${t.name} (${t.language})`;
        const text = document.createElement("span");
        text.className = "muted small";
        text.textContent = bodyOf(t);
        b.append(name, document.createElement("br"), text);
        b.addEventListener("click", () => choose(t));
        li.append(b);
        els.list.append(li);
      });
    }

    function choose(t) {
      chosen = t;
      els.form.hidden = false;
      els.name.textContent = `${t.name} · ${t.language} · ${t.category || ""}`;
      els.fields.replaceChildren();
      const header = component(t, "HEADER");
      const format = header ? (header.format || "").toUpperCase() : "";
      if (format === "TEXT") {
        placeholders(header.text).forEach((p) => els.fields.append(field(`${prefix}-header-${p}`, `Header {{${p}}}`)));
      } else if (["IMAGE", "VIDEO", "DOCUMENT"].includes(format)) {
        els.fields.append(field(`${prefix}-header-media`, `Header ${format.toLowerCase()} URL`, "A public https link to the file"));
      }
      placeholders(bodyOf(t)).forEach((p) => els.fields.append(field(`${prefix}-body-${p}`, `Body {{${p}}}`)));
      ((component(t, "BUTTONS") || {}).buttons || []).forEach((b, i) => {
        const type = (b.type || "").toUpperCase();
        if (type === "URL" && placeholders(b.url).length) els.fields.append(field(`${prefix}-button-${i}`, `Button “${b.text}” URL suffix`));
        if (type === "COPY_CODE") els.fields.append(field(`${prefix}-button-${i}`, `Button “${b.text || "Copy code"}” code`));
      });
      renderList();
      renderPreview();
      const first = els.fields.querySelector("input");
      if (first) first.focus();
    }

    function collect() {
      const t = chosen;
      const value = (id) => { const el = document.getElementById(id); return el ? el.value.trim() : ""; };
      const bodyText = bodyOf(t);
      const body = {};
      placeholders(bodyText).forEach((p) => { body[p] = value(`${prefix}-body-${p}`); });
      const header = {};
      const h = component(t, "HEADER");
      const format = h ? (h.format || "").toUpperCase() : "";
      if (format === "TEXT") placeholders(h.text).forEach((p) => { header[p] = value(`${prefix}-header-${p}`); });
      if (["IMAGE", "VIDEO", "DOCUMENT"].includes(format)) {
        header.media_url = value(`${prefix}-header-media`);
        header.media_type = format.toLowerCase();
      }
      const buttons = [];
      ((component(t, "BUTTONS") || {}).buttons || []).forEach((b, i) => {
        const type = (b.type || "").toUpperCase();
        if (type === "URL" && placeholders(b.url).length) buttons.push({ type: "url", parameter: value(`${prefix}-button-${i}`), index: i });
        if (type === "COPY_CODE") buttons.push({ type: "copy_code", parameter: value(`${prefix}-button-${i}`), index: i });
      });
      const processed = { body };
      if (Object.keys(header).length) processed.header = header;
      if (buttons.length) processed.buttons = buttons;
      return { body, processed, bodyText };
    }

    function ready() {
      if (!chosen) return false;
      const { body, processed } = collect();
      const missing = Object.values(body).filter((v) => !v).length
        + Object.entries(processed.header || {}).filter(([k, v]) => k !== "media_type" && !v).length
        + (processed.buttons || []).filter((b) => !b.parameter).length;
      return missing === 0;
    }

    function renderPreview() {
      if (!chosen) { onChange(false); return; }
      const { body, bodyText } = collect();
      els.preview.textContent = fill(bodyText, body);
      onChange(ready());
    }

    els.search.addEventListener("input", renderList);

    return {
      setTemplates(list) {
        templates = (list || []).filter((x) => x.status === "APPROVED");
        renderList();
      },
      reset() {
        chosen = null;
        els.search.value = "";
        els.form.hidden = true;
        els.fields.replaceChildren();
        els.preview.textContent = "";
        renderList();
        onChange(false);
      },
      chosen: () => chosen,
      ready,
      payload() {
        if (!chosen) return null;
        const { body, processed, bodyText } = collect();
        return {
          content: fill(bodyText, body),
          template_params: { name: chosen.name, language: chosen.language, category: chosen.category, processed_params: processed },
        };
      },
    };
  }

  window.SwitchboardTemplatePicker = { create, placeholders };
})();
