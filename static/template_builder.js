// The template builder (issue 12): Settings → Inboxes → (inbox) → Templates.
// 1. The list: delete a template after a confirmation dialog.
// 2. The builder: the draft's fields, examples for each parameter found in the text, the
//    buttons editor, the header sample upload, a live preview as WhatsApp shows it, and the
//    save through /api/v1/…/inboxes/{inbox_id}/message_templates. The server checks every
//    rule of Meta's; its refusals (`errors`: [{field, message}]) are shown next to their
//    fields. Text is always set with textContent.
"use strict";

(function () {
  const accountId = document.body.dataset.accountId;
  if (!accountId) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  async function api(method, path, payload, isForm) {
    const opts = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, credentials: "same-origin" };
    if (isForm) {
      opts.body = payload;
    } else if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    let resp;
    try {
      resp = await fetch(`/api/v1/accounts/${accountId}${path}`, opts);
    } catch (_) {
      const err = new Error("Switchboard could not be reached. Check the connection and try again.");
      err.errors = [];
      throw err;
    }
    const text = await resp.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
    if (!resp.ok) {
      const err = new Error((json && (json.message || json.error)) || `The server answered ${resp.status}`);
      err.errors = (json && json.errors) || (json && json.field ? [{ field: json.field, message: err.message }] : []);
      throw err;
    }
    return json;
  }

  // ---------------------------------------------------------------- the list
  const list = document.querySelector("[data-tb-list]");
  if (list) {
    const inboxId = list.dataset.inboxId;
    const dialog = list.querySelector("[data-tb-confirm]");
    const confirmText = dialog.querySelector("[data-tb-confirm-text]");
    const confirmError = dialog.querySelector("[data-tb-confirm-error]");
    let deleting = null;
    list.addEventListener("click", (ev) => {
      const b = ev.target.closest("[data-tb-delete]");
      if (!b) return;
      deleting = b.dataset.tbDelete;
      confirmText.textContent = `${b.dataset.tbName} is deleted at Meta too and can no longer be sent. After deleting an approved template, Meta keeps its name for 30 days: use a new name (e.g. add _v2) to build it again.`;
      confirmError.textContent = "";
      dialog.showModal();
    });
    dialog.querySelector("[data-tb-confirm-delete]").addEventListener("click", async () => {
      if (!deleting) return;
      try {
        await api("DELETE", `/inboxes/${inboxId}/message_templates/${deleting}`);
        window.location.assign(`${window.location.pathname}?notice=${encodeURIComponent("Template deleted.")}`);
      } catch (e) {
        confirmError.textContent = e.message;
      }
    });
  }

  // ---------------------------------------------------------------- the builder
  const page = document.querySelector("[data-tb-builder]");
  if (!page) return;
  const inboxId = page.dataset.inboxId;
  const templateId = Number(page.dataset.templateId || "0");
  const uploadsReady = page.dataset.uploadsReady === "true";
  const form = page.querySelector("#tb-form");
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const BUTTONS = {
    QUICK_REPLY: { label: "Quick reply", icon: "↩", fields: [["text", "Button label", 25]] },
    URL: { label: "Visit website", icon: "↗", fields: [["text", "Button label", 25], ["url", "Web address (may end with {{1}})", 2000], ["example", "Example of the full address", 2000]] },
    PHONE_NUMBER: { label: "Call phone number", icon: "☎", fields: [["text", "Button label", 25], ["phone_number", "Phone number with country code", 20]] },
    COPY_CODE: { label: "Copy offer code", icon: "⧉", fields: [["example", "Example code", 20]] },
    FLOW: { label: "Open a WhatsApp Flow", icon: "☰", fields: [["text", "Button label", 25], ["flow_id", "Flow id", 64], ["navigate_screen", "First screen (optional)", 64]] },
    CATALOG: { label: "View catalog", icon: "☰", fields: [["text", "Button label", 25]] },
    MPM: { label: "View items", icon: "☰", fields: [["text", "Button label", 25]] },
    OTP: { label: "One-time password", icon: "⧉", fields: [["text", "Button label (optional)", 25], ["package_name", "Android package (one-tap, zero-tap)", 200], ["signature_hash", "App signature hash (11 characters)", 11]] },
  };

  // State
  const draft = JSON.parse(page.dataset.draft || "{}");
  const comps = draft.components || {};
  let buttons = Array.isArray(comps.buttons) ? comps.buttons.map((b) => flattenButton(b)) : [];
  const examples = { header: {}, body: {} };
  let localMediaUrl = null;

  function flattenButton(b) {
    const out = Object.assign({}, b);
    out.type = String(b.type || "QUICK_REPLY").toUpperCase();
    if (Array.isArray(out.example)) out.example = out.example[0] || "";
    if (Array.isArray(b.supported_apps) && b.supported_apps[0]) {
      out.package_name = b.supported_apps[0].package_name || "";
      out.signature_hash = b.supported_apps[0].signature_hash || "";
    }
    if (out.type === "URL" && typeof b.otp_type === "string") out.type = "OTP";
    return out;
  }

  // Fill the fields from the draft.
  $("tb-name").value = draft.name || "";
  $("tb-language").value = draft.language || "";
  if (draft.category) $("tb-category").value = String(draft.category).toUpperCase();
  const fmt = String(draft.parameter_format || "positional").toLowerCase();
  form.querySelectorAll('input[name="parameter_format"]').forEach((r) => { r.checked = r.value === fmt; });
  const header = comps.header || null;
  $("tb-header-format").value = header ? String(header.format || "TEXT").toUpperCase() : "";
  $("tb-header-text").value = (header && header.text) || "";
  const priorHandle = header && header.handle ? String(header.handle) : "";
  if (priorHandle && !/^https?:/.test(priorHandle)) $("tb-header-handle").value = priorHandle;
  if (header && header.examples) Object.assign(examples.header, header.examples);
  const body = comps.body || {};
  $("tb-body-text").value = body.text || "";
  if (body.examples) Object.assign(examples.body, body.examples);
  $("tb-security").checked = body.add_security_recommendation !== false;
  const footer = comps.footer || {};
  $("tb-footer-text").value = footer.text || "";
  if (footer.code_expiration_minutes) $("tb-expiry").value = footer.code_expiration_minutes;
  if (priorHandle && /^https?:/.test(priorHandle)) {
    $("tb-upload-status").textContent = "Upload the sample again: Meta needs a fresh upload when a template is edited.";
  }

  const category = () => $("tb-category").value;
  const isAuth = () => category() === "AUTHENTICATION";
  const paramFormat = () => (form.querySelector('input[name="parameter_format"]:checked') || {}).value || "positional";

  // ------------------------------------------------------------ parameters and examples
  function paramsOf(text) {
    const names = [];
    const re = /\{\{\s*([^{}]*?)\s*\}\}/g;
    let m;
    while ((m = re.exec(text))) if (m[1] && !names.includes(m[1])) names.push(m[1]);
    if (paramFormat() === "positional") names.sort((a, b) => (Number(a) || 1e9) - (Number(b) || 1e9));
    return names;
  }

  const renderedParams = { header: "", body: "" };
  function renderExamples(part, text) {
    const names = paramsOf(text);
    const key = names.join("\u0001");
    if (renderedParams[part] === key) return;
    renderedParams[part] = key;
    const box = page.querySelector(`[data-tb-examples="${part}"]`);
    box.replaceChildren();
    if (!names.length) return;
    box.appendChild(el("p", "tb-examples-title", "Examples Meta reviews"));
    names.forEach((name) => {
      const id = `tb-ex-${part}-${name.replace(/[^a-z0-9_]/gi, "_")}`;
      const errId = `tb-err-components-${part}-examples-${name}`;
      const wrap = el("div", "tb-example");
      const label = el("label", "", `Example for {{${name}}}`);
      label.htmlFor = id;
      const input = el("input");
      input.id = id;
      input.maxLength = 1024;
      input.autocomplete = "off";
      input.value = examples[part][name] || "";
      input.setAttribute("aria-describedby", errId);
      input.addEventListener("input", () => { examples[part][name] = input.value; preview(); });
      const err = el("p", "field-error");
      err.id = errId;
      err.hidden = true;
      wrap.append(label, input, err);
      box.appendChild(wrap);
    });
  }

  page.querySelector("[data-tb-add-param]").addEventListener("click", () => {
    const ta = $("tb-body-text");
    const names = paramsOf(ta.value);
    let token;
    if (paramFormat() === "positional") {
      token = `{{${names.length + 1}}}`;
    } else {
      let n = names.length + 1;
      while (names.includes(`param_${n}`)) n += 1;
      token = names.includes("first_name") ? `{{param_${n}}}` : "{{first_name}}";
    }
    const at = ta.selectionStart != null ? ta.selectionStart : ta.value.length;
    const before = ta.value.slice(0, at);
    const pad = before && !/\s$/.test(before) ? " " : "";
    ta.value = `${before}${pad}${token} ${ta.value.slice(ta.selectionEnd != null ? ta.selectionEnd : at)}`;
    ta.focus();
    const pos = before.length + pad.length + token.length + 1;
    ta.setSelectionRange(pos, pos);
    update();
  });

  // ------------------------------------------------------------ buttons editor
  const buttonList = page.querySelector("[data-tb-buttons]");
  function renderButtons(focus) {
    buttonList.replaceChildren();
    buttons.forEach((b, i) => {
      const spec = BUTTONS[b.type] || BUTTONS.QUICK_REPLY;
      const li = el("li", "tb-button");
      const head = el("div", "tb-button-head");
      const title = el("h3", "tb-button-title", `Button ${i + 1} · ${spec.label}`);
      title.id = `tb-b${i}-title`;
      const actions = el("div", "tb-button-actions");
      [["up", "Move up", i === 0], ["down", "Move down", i === buttons.length - 1], ["remove", "Remove", false]].forEach(([act, text, disabled]) => {
        const btn = el("button", act === "remove" ? "danger" : "", text);
        btn.type = "button";
        btn.dataset.tbButtonAction = act;
        btn.dataset.index = String(i);
        btn.disabled = disabled;
        btn.setAttribute("aria-describedby", title.id);
        actions.appendChild(btn);
      });
      head.append(title, actions);
      li.appendChild(head);
      const typeErr = el("p", "field-error");
      typeErr.id = `tb-err-components-buttons-${i}-type`;
      typeErr.hidden = true;
      li.appendChild(typeErr);
      const grid = el("div", "tb-button-fields");
      if (b.type === "OTP") grid.appendChild(selectField(i, b, "otp_type", "Code delivery", [["COPY_CODE", "Copy code"], ["ONE_TAP", "One-tap autofill"], ["ZERO_TAP", "Zero-tap"]]));
      if (b.type === "FLOW") grid.appendChild(selectField(i, b, "flow_action", "Flow action", [["navigate", "Navigate"], ["data_exchange", "Data exchange"]]));
      spec.fields.forEach(([key, labelText, max]) => {
        const id = `tb-b${i}-${key}`;
        const errId = `tb-err-components-buttons-${i}-${key}`;
        const wrap = el("div", "tb-field");
        const label = el("label", "", labelText);
        label.htmlFor = id;
        const input = el("input");
        input.id = id;
        input.maxLength = max + 40;
        input.autocomplete = "off";
        if (key === "phone_number") input.inputMode = "tel";
        if (key === "url" || (b.type === "URL" && key === "example")) input.inputMode = "url";
        input.value = b[key] || "";
        input.setAttribute("aria-describedby", errId);
        input.addEventListener("input", () => { b[key] = input.value; preview(); });
        const err = el("p", "field-error");
        err.id = errId;
        err.hidden = true;
        wrap.append(label, input, err);
        grid.appendChild(wrap);
      });
      li.appendChild(grid);
      buttonList.appendChild(li);
    });
    if (focus) {
      const target = buttonList.querySelector(focus);
      (target && !target.disabled ? target : $("tb-new-button-type")).focus();
    }
    preview();
  }

  function selectField(i, b, key, labelText, options) {
    const id = `tb-b${i}-${key}`;
    const wrap = el("div", "tb-field");
    const label = el("label", "", labelText);
    label.htmlFor = id;
    const select = el("select");
    select.id = id;
    options.forEach(([v, t]) => {
      const o = el("option", "", t);
      o.value = v;
      select.appendChild(o);
    });
    select.value = b[key] || options[0][0];
    b[key] = select.value;
    const errId = `tb-err-components-buttons-${i}-${key}`;
    select.setAttribute("aria-describedby", errId);
    select.addEventListener("change", () => { b[key] = select.value; preview(); });
    const err = el("p", "field-error");
    err.id = errId;
    err.hidden = true;
    wrap.append(label, select, err);
    return wrap;
  }

  buttonList.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-tb-button-action]");
    if (!btn) return;
    const i = Number(btn.dataset.index);
    const act = btn.dataset.tbButtonAction;
    if (act === "remove") {
      buttons.splice(i, 1);
      renderButtons(null);
      $("tb-new-button-type").focus();
      return;
    }
    const j = act === "up" ? i - 1 : i + 1;
    if (j < 0 || j >= buttons.length) return;
    [buttons[i], buttons[j]] = [buttons[j], buttons[i]];
    renderButtons(`[data-tb-button-action="${act}"][data-index="${j}"]`);
  });

  page.querySelector("[data-tb-add-button]").addEventListener("click", () => {
    const type = $("tb-new-button-type").value;
    const b = { type };
    // Quick replies join the group of quick replies, as Meta requires.
    let at = buttons.length;
    if (type === "QUICK_REPLY") {
      const last = buttons.map((x) => x.type).lastIndexOf("QUICK_REPLY");
      if (last >= 0) at = last + 1;
    }
    buttons.splice(at, 0, b);
    renderButtons(null);
    const first = buttonList.querySelectorAll(".tb-button")[at];
    const input = first && first.querySelector("input, select");
    if (input) input.focus();
  });

  // ------------------------------------------------------------ header
  const ACCEPT = { IMAGE: "image/jpeg,image/png", VIDEO: "video/mp4", DOCUMENT: "application/pdf" };
  function syncHeader() {
    const f = $("tb-header-format").value;
    page.querySelectorAll("[data-tb-header]").forEach((n) => {
      const k = n.dataset.tbHeader;
      n.hidden = !(k === f || (k === "MEDIA" && ACCEPT[f]));
    });
    if (ACCEPT[f]) $("tb-header-file").accept = ACCEPT[f];
  }
  let handleFormat = priorHandle ? $("tb-header-format").value : "";
  $("tb-header-format").addEventListener("change", () => {
    if ($("tb-header-format").value !== handleFormat) {
      $("tb-header-handle").value = "";
      $("tb-header-file").value = "";
      $("tb-upload-status").textContent = "";
      localMediaUrl = null;
    }
    syncHeader();
    preview();
  });
  $("tb-header-file").addEventListener("change", async () => {
    const file = $("tb-header-file").files[0];
    const status = $("tb-upload-status");
    clearError("file");
    clearError("components.header.handle");
    if (!file) return;
    if (!uploadsReady) {
      showError("file", "Uploads need the Meta app id: set WHATSAPP_APP_ID and restart Switchboard.");
      return;
    }
    status.textContent = `Uploading ${file.name}…`;
    const data = new FormData();
    data.append("file", file, file.name);
    try {
      const out = await api("POST", `/inboxes/${inboxId}/message_templates/header_sample`, data, true);
      $("tb-header-handle").value = out.handle;
      handleFormat = $("tb-header-format").value;
      status.textContent = `Uploaded ${out.file_name} (${Math.max(1, Math.round(out.size / 1024))} KB).`;
      // A data: URL (the page's CSP allows data: images, not blob:).
      localMediaUrl = null;
      if (file.type.startsWith("image/")) {
        const reader = new FileReader();
        reader.onload = () => { localMediaUrl = String(reader.result); preview(); };
        reader.readAsDataURL(file);
      }
      preview();
    } catch (e) {
      status.textContent = "";
      showError("file", e.message);
    }
  });

  // ------------------------------------------------------------ category
  function syncCategory() {
    const auth = isAuth();
    page.querySelectorAll(".tb-plain-only").forEach((n) => { n.hidden = auth; });
    page.querySelectorAll(".tb-auth-only").forEach((n) => { n.hidden = !auth; });
    if (auth && !buttons.some((b) => b.type === "OTP")) {
      buttons = [{ type: "OTP", otp_type: "COPY_CODE", text: "Copy code" }];
      if (!$("tb-expiry").value) $("tb-expiry").value = "10";
      renderButtons(null);
    }
  }
  $("tb-category").addEventListener("change", () => { syncCategory(); preview(); });

  // ------------------------------------------------------------ preview
  function fill(text, part) {
    return text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (all, name) => {
      const v = examples[part][name];
      return v ? v : all;
    });
  }

  // WhatsApp's formatting: *bold*, _italic_, ~strike~, ```monospace```.
  function formatInto(node, text) {
    node.replaceChildren();
    const re = /(```[^`]+```|\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~)/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
      const t = m[0];
      const tag = t.startsWith("```") ? "code" : { "*": "strong", _: "em", "~": "s" }[t[0]];
      const inner = t.startsWith("```") ? t.slice(3, -3) : t.slice(1, -1);
      node.appendChild(el(tag, "", inner));
      last = m.index + t.length;
    }
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }

  function preview() {
    const auth = isAuth();
    const f = auth ? "" : $("tb-header-format").value;
    const media = page.querySelector("[data-tb-p-media]");
    const ph = page.querySelector("[data-tb-p-header]");
    media.replaceChildren();
    media.hidden = !(ACCEPT[f] || f === "LOCATION");
    if (!media.hidden) {
      if (f === "IMAGE" && localMediaUrl) {
        const img = el("img");
        img.src = localMediaUrl;
        img.alt = "Header image sample";
        media.appendChild(img);
      } else {
        media.appendChild(el("span", "tb-p-media-label", { IMAGE: "Image", VIDEO: "Video", DOCUMENT: "PDF document", LOCATION: "Location" }[f]));
      }
    }
    ph.hidden = f !== "TEXT" || !$("tb-header-text").value.trim();
    ph.textContent = fill($("tb-header-text").value, "header");

    const pb = page.querySelector("[data-tb-p-body]");
    if (auth) {
      pb.replaceChildren();
      pb.appendChild(el("strong", "", "123456"));
      pb.appendChild(document.createTextNode(` is your verification code.${$("tb-security").checked ? " For your security, do not share this code." : ""}`));
    } else {
      const text = $("tb-body-text").value;
      formatInto(pb, text.trim() ? fill(text, "body") : "Your message appears here.");
      pb.classList.toggle("muted", !text.trim());
    }
    const pf = page.querySelector("[data-tb-p-footer]");
    const footerText = auth
      ? ($("tb-expiry").value ? `This code expires in ${$("tb-expiry").value} minutes.` : "")
      : $("tb-footer-text").value;
    pf.hidden = !footerText.trim();
    pf.textContent = footerText;

    const pbtn = page.querySelector("[data-tb-p-buttons]");
    pbtn.replaceChildren();
    const shown = buttons.length > 3 ? buttons.slice(0, 2) : buttons;
    shown.forEach((b) => {
      const spec = BUTTONS[b.type] || BUTTONS.QUICK_REPLY;
      const label = b.text || (b.type === "COPY_CODE" ? "Copy offer code" : b.type === "OTP" ? "Copy code" : spec.label);
      const li = el("li", "tb-p-button");
      li.appendChild(el("span", "tb-p-icon", spec.icon)).setAttribute("aria-hidden", "true");
      li.appendChild(el("span", "", label));
      pbtn.appendChild(li);
    });
    if (buttons.length > 3) {
      const li = el("li", "tb-p-button");
      li.appendChild(el("span", "tb-p-icon", "☰")).setAttribute("aria-hidden", "true");
      li.appendChild(el("span", "", "See all options"));
      pbtn.appendChild(li);
    }
    page.querySelectorAll("[data-tb-count]").forEach((c) => {
      const input = $(c.dataset.tbCount);
      const n = [...input.value].length;
      const max = Number(c.dataset.max);
      c.textContent = `${n}/${max}`;
      c.classList.toggle("tb-over", n > max);
    });
  }

  function update() {
    renderExamples("header", $("tb-header-text").value);
    renderExamples("body", $("tb-body-text").value);
    preview();
  }
  ["tb-header-text", "tb-body-text", "tb-footer-text", "tb-expiry"].forEach((id) => $(id).addEventListener("input", update));
  $("tb-security").addEventListener("change", preview);
  form.querySelectorAll('input[name="parameter_format"]').forEach((r) => r.addEventListener("change", () => {
    renderedParams.header = renderedParams.body = "";
    update();
  }));

  // ------------------------------------------------------------ errors
  const errId = (field) => `tb-err-${field.replace(/[.[\]]+/g, "-").replace(/-+$/, "")}`;
  function errorNode(field) {
    let f = field;
    for (;;) {
      const node = $(errId(f));
      if (node) return node;
      const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
      if (cut <= 0) return null;
      f = f.slice(0, cut);
    }
  }
  function showError(field, raw) {
    const node = errorNode(field);
    if (!node) return null;
    const message = raw ? raw[0].toUpperCase() + raw.slice(1) : raw;
    node.textContent = node.hidden ? message : `${node.textContent} ${message}`;
    node.hidden = false;
    const input = document.querySelector(`[aria-describedby~="${node.id}"]`);
    if (input) input.setAttribute("aria-invalid", "true");
    return input || node;
  }
  function clearError(field) {
    const node = $(errId(field));
    if (!node) return;
    node.hidden = true;
    node.textContent = "";
    const input = document.querySelector(`[aria-describedby~="${node.id}"]`);
    if (input) input.removeAttribute("aria-invalid");
  }
  function clearErrors() {
    page.querySelectorAll(".field-error").forEach((n) => { n.hidden = true; n.textContent = ""; });
    page.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    $("tb-form-error").hidden = true;
  }

  // A refused field's message goes once the field is changed.
  page.addEventListener("input", (ev) => {
    const t = ev.target;
    if (!t.getAttribute || t.getAttribute("aria-invalid") !== "true") return;
    t.removeAttribute("aria-invalid");
    (t.getAttribute("aria-describedby") || "").split(/\s+/).forEach((id) => {
      const n = id.startsWith("tb-err-") && $(id);
      if (n) { n.hidden = true; n.textContent = ""; }
    });
  });

  // ------------------------------------------------------------ save
  function buildDraft() {
    const auth = isAuth();
    const out = {
      name: $("tb-name").value.trim(),
      language: $("tb-language").value.trim(),
      category: category(),
      components: {},
    };
    if (!auth) out.parameter_format = paramFormat();
    const c = out.components;
    if (auth) {
      c.body = { add_security_recommendation: $("tb-security").checked };
      if ($("tb-expiry").value) c.footer = { code_expiration_minutes: Number($("tb-expiry").value) };
    } else {
      const f = $("tb-header-format").value;
      const pick = (part, text) => {
        const o = {};
        paramsOf(text).forEach((n) => { o[n] = examples[part][n] || ""; });
        return o;
      };
      if (f === "TEXT") c.header = { format: "TEXT", text: $("tb-header-text").value, examples: pick("header", $("tb-header-text").value) };
      else if (ACCEPT[f]) c.header = { format: f, handle: $("tb-header-handle").value };
      else if (f === "LOCATION") c.header = { format: "LOCATION" };
      c.body = { text: $("tb-body-text").value, examples: pick("body", $("tb-body-text").value) };
      if ($("tb-footer-text").value.trim()) c.footer = { text: $("tb-footer-text").value };
    }
    c.buttons = buttons.map((b) => {
      const spec = BUTTONS[b.type] || BUTTONS.QUICK_REPLY;
      const o = { type: b.type };
      spec.fields.forEach(([k]) => { if (b[k] && String(b[k]).trim()) o[k] = b[k]; });
      if (b.type === "OTP") {
        o.otp_type = b.otp_type || "COPY_CODE";
        delete o.package_name;
        delete o.signature_hash;
        if (b.package_name || b.signature_hash) o.supported_apps = [{ package_name: b.package_name || "", signature_hash: b.signature_hash || "" }];
      }
      if (b.type === "FLOW" && b.flow_action) o.flow_action = b.flow_action;
      return o;
    });
    return out;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const submit = $("tb-submit");
    submit.disabled = true;
    const payload = buildDraft();
    try {
      const saved = templateId
        ? await api("PATCH", `/inboxes/${inboxId}/message_templates/${templateId}`, payload)
        : await api("POST", `/inboxes/${inboxId}/message_templates`, payload);
      const notice = `Template ${saved.name} (${saved.language}) was sent to Meta for review: ${saved.status}.`;
      window.location.assign(`/app/accounts/${accountId}/settings/inboxes/${inboxId}/templates?notice=${encodeURIComponent(notice)}`);
    } catch (e) {
      const general = [];
      let first = null;
      (e.errors.length ? e.errors : [{ field: "", message: e.message }]).forEach((x) => {
        const target = x.field ? showError(x.field, x.message) : null;
        if (target && !first) first = target;
        if (!target) general.push(x.message);
      });
      if (general.length || !first) {
        const box = $("tb-form-error");
        box.textContent = general.length ? general.join(" ") : "Some fields need attention: see the messages next to them.";
        box.hidden = false;
        if (!first) first = box;
      }
      if (first) {
        if (first.tabIndex < 0 && !/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(first.tagName)) first.tabIndex = -1;
        first.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });

  syncHeader();
  syncCategory();
  renderButtons(null);
  update();
})();
