// Custom attributes (issue 11).
// 1. The editors of templates/partials/custom_attributes.html (contact panel, contact page):
//    a text-like editor saves on blur or Enter, a select, date or checkbox on change, by
//    POSTing {custom_attributes: {key: value}} to the block's endpoint; a blank value removes
//    the key. The server's message shows under the editor. The panel is swapped in again by
//    app.js, so everything is delegated from document.
// 2. Settings → Custom attributes: the add/edit form (list values as chips, regex with its
//    cue) and the delete confirmation, through /custom_attribute_definitions.
// Text is always set with textContent.
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
      const err = new Error((json && (json.message || json.error)) || `The server answered ${resp.status}`);
      err.field = json && json.field;
      throw err;
    }
    return json;
  }

  // ---------------------------------------------------------------- record editors
  const saved = new WeakMap(); // input → the last value the server accepted
  const pending = new WeakMap(); // input → the value being saved (Enter and change both fire)
  // A live event re-renders the contact panel (app.js swaps #thread-header; workspace.js keeps
  // the focused editor's text): refusals shown are put back on the new editors while their
  // text is still the refused one.
  const errors = new Map(); // editor id → {message, value}
  function restoreErrors() {
    errors.forEach((st, id) => {
      const input = document.getElementById(id);
      const field = input && input.closest("[data-ca-field]");
      if (!field || input.value !== st.value) {
        errors.delete(id);
        return;
      }
      const error = field.querySelector("[data-ca-error]");
      error.textContent = st.message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
    });
  }
  const header = document.getElementById("thread-header");
  if (header) new MutationObserver(() => setTimeout(restoreErrors, 0)).observe(header, { childList: true });

  function valueOf(input, kind) {
    if (kind === "checkbox") return input.checked;
    const v = input.value.trim();
    return v === "" ? null : v;
  }

  function shown(value, kind) {
    if (kind === "checkbox") return value === true;
    if (value === null || value === undefined) return "";
    return String(value);
  }

  async function save(input) {
    const field = input.closest("[data-ca-field]");
    const block = input.closest("[data-ca-block]");
    if (!field || !block) return;
    const key = field.dataset.caKey;
    const kind = field.dataset.caKind;
    const value = valueOf(input, kind);
    const previous = saved.has(input) ? saved.get(input) : initial(input, kind);
    if (JSON.stringify(value) === JSON.stringify(previous)) return;
    if (pending.get(input) === JSON.stringify(value)) return;
    pending.set(input, JSON.stringify(value));
    const error = field.querySelector("[data-ca-error]");
    const status = field.querySelector("[data-ca-status]");
    error.hidden = true;
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    status.textContent = "Saving…";
    try {
      const out = await api("POST", block.dataset.caEndpoint, { custom_attributes: { [key]: value } });
      const stored = out && out.custom_attributes ? out.custom_attributes[key] : value;
      const normal = stored === undefined ? null : stored;
      saved.set(input, kind === "checkbox" ? normal === true : normal);
      // Show the stored form (e.g. "gold" → "Gold", "12.0" → 12).
      if (kind !== "checkbox" && document.activeElement !== input) input.value = shown(normal, kind);
      status.textContent = "Saved";
      setTimeout(() => { if (status.textContent === "Saved") status.textContent = ""; }, 2000);
      errors.delete(input.id);
    } catch (e) {
      status.textContent = "";
      error.textContent = e.message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      errors.set(input.id, { message: e.message, value: input.value });
      if (!input.isConnected) restoreErrors();
    } finally {
      pending.delete(input);
    }
  }

  function initial(input, kind) {
    if (kind === "checkbox") return input.defaultChecked;
    if (input instanceof HTMLSelectElement) {
      const opt = Array.from(input.options).find((o) => o.defaultSelected);
      return opt && opt.value !== "" ? opt.value : null;
    }
    const v = input.defaultValue.trim();
    return v === "" ? null : v;
  }

  document.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t instanceof HTMLElement && t.matches("[data-ca-input]")) save(t);
  });
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLInputElement) || !t.matches("[data-ca-input]")) return;
    if (ev.key === "Enter") {
      ev.preventDefault();
      save(t);
    } else if (ev.key === "Escape") {
      const field = t.closest("[data-ca-field]");
      const kind = field ? field.dataset.caKind : "";
      const last = saved.has(t) ? saved.get(t) : initial(t, kind);
      if (kind !== "checkbox") t.value = shown(last, kind);
    }
  });
  document.addEventListener("input", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLElement) || !t.matches("[data-ca-input]")) return;
    const field = t.closest("[data-ca-field]");
    const error = field && field.querySelector("[data-ca-error]");
    errors.delete(t.id);
    if (error && !error.hidden) {
      error.hidden = true;
      error.textContent = "";
      t.removeAttribute("aria-invalid");
    }
  });

  // ---------------------------------------------------------------- settings page
  const page = document.querySelector("[data-ca-settings]");
  if (!page) return;
  const form = page.querySelector("#ca-form");
  const title = page.querySelector("[data-ca-form-title]");
  const submit = form.querySelector("[data-ca-submit]");
  const cancel = form.querySelector("[data-ca-cancel]");
  const formError = form.querySelector("[data-ca-form-error]");
  const model = form.querySelector("#ca-model");
  const name = form.querySelector("#ca-name");
  const key = form.querySelector("#ca-key");
  const type = form.querySelector("#ca-type");
  const description = form.querySelector("#ca-description");
  const chips = form.querySelector("#ca-value-chips");
  const valueInput = form.querySelector("#ca-value-input");
  const regexOn = form.querySelector("#ca-regex-on");
  const regexBox = form.querySelector("[data-ca-regex]");
  const regex = form.querySelector("#ca-regex");
  const cue = form.querySelector("#ca-cue");
  let editing = null; // the definition being edited, or null
  let keyTouched = false;
  let values = [];

  // Scrolls the page's own scroller (main.page) to `el` and focuses `target` without letting
  // the browser scroll the window as well.
  function reveal(el, target) {
    page.scrollTop += el.getBoundingClientRect().top - page.getBoundingClientRect().top - 16;
    if (target) target.focus({ preventScroll: true });
  }

  function snake(text) {
    let out = text.trim().toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (out && !/^[a-z]/.test(out)) out = `attr_${out}`;
    return out.slice(0, 64);
  }

  function renderChips() {
    chips.replaceChildren();
    values.forEach((v, i) => {
      const li = document.createElement("li");
      li.className = "chip";
      const span = document.createElement("span");
      span.className = "chip-text";
      span.textContent = v;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.setAttribute("aria-label", `Remove value ${v}`);
      const x = document.createElement("span");
      x.setAttribute("aria-hidden", "true");
      x.textContent = "×";
      remove.appendChild(x);
      remove.addEventListener("click", () => {
        values.splice(i, 1);
        renderChips();
        valueInput.focus();
      });
      li.append(span, remove);
      chips.appendChild(li);
    });
  }

  function addValue() {
    const parts = valueInput.value.split(",").map((s) => s.trim()).filter(Boolean);
    parts.forEach((p) => { if (!values.some((v) => v.toLowerCase() === p.toLowerCase())) values.push(p); });
    valueInput.value = "";
    renderChips();
  }

  function syncType() {
    form.querySelectorAll("[data-ca-only]").forEach((el) => { el.hidden = el.dataset.caOnly !== type.value; });
    regexBox.hidden = !regexOn.checked;
  }

  function clearErrors() {
    formError.textContent = "";
    form.querySelectorAll(".field-error").forEach((e) => { e.hidden = true; e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  function reset(forModel) {
    editing = null;
    keyTouched = false;
    form.reset();
    if (forModel) model.value = forModel;
    values = [];
    renderChips();
    model.disabled = false;
    key.disabled = false;
    title.textContent = "Add attribute";
    submit.textContent = "Add attribute";
    cancel.hidden = true;
    clearErrors();
    syncType();
  }

  function edit(def) {
    reset();
    editing = def;
    keyTouched = true;
    model.value = def.attribute_model;
    model.disabled = true;
    name.value = def.attribute_display_name || "";
    key.value = def.attribute_key || "";
    key.disabled = true;
    type.value = def.attribute_display_type;
    description.value = def.attribute_description || "";
    values = (def.attribute_values || []).slice();
    renderChips();
    regexOn.checked = !!def.regex_pattern;
    regex.value = def.regex_pattern || "";
    cue.value = def.regex_cue || "";
    title.textContent = `Edit ${def.attribute_display_name}`;
    submit.textContent = "Save attribute";
    cancel.hidden = false;
    syncType();
    reveal(form.closest(".card"), name);
  }

  name.addEventListener("input", () => { if (!keyTouched && !editing) key.value = snake(name.value); });
  key.addEventListener("input", () => { keyTouched = key.value !== ""; });
  type.addEventListener("change", syncType);
  regexOn.addEventListener("change", () => { syncType(); if (regexOn.checked) regex.focus({ preventScroll: true }); });
  valueInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === ",") {
      ev.preventDefault();
      addValue();
    } else if (ev.key === "Backspace" && valueInput.value === "" && values.length) {
      values.pop();
      renderChips();
    }
  });
  valueInput.addEventListener("blur", () => { if (valueInput.value.trim()) addValue(); });
  cancel.addEventListener("click", () => reset());

  page.addEventListener("click", (ev) => {
    const t = ev.target instanceof Element ? ev.target.closest("button") : null;
    if (!t) return;
    if (t.dataset.caAdd) {
      reset(t.dataset.caAdd);
      reveal(form.closest(".card"), name);
    } else if (t.dataset.caEdit) {
      try { edit(JSON.parse(t.dataset.caEdit)); } catch (_) { /* a broken row: ignore */ }
    } else if (t.dataset.caDelete) {
      confirmDelete(t.dataset.caDelete, t.dataset.caName || "");
    }
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    if (valueInput.value.trim()) addValue();
    const payload = {
      attribute_display_name: name.value,
      attribute_display_type: type.value,
      attribute_description: description.value,
      attribute_values: type.value === "list" ? values : [],
      regex_pattern: type.value === "text" && regexOn.checked ? regex.value : "",
      regex_cue: type.value === "text" && regexOn.checked ? cue.value : "",
    };
    if (!editing) {
      payload.attribute_model = model.value;
      payload.attribute_key = key.value;
    }
    submit.disabled = true;
    try {
      const def = editing
        ? await api("PATCH", `/custom_attribute_definitions/${editing.id}`, payload)
        : await api("POST", "/custom_attribute_definitions", payload);
      const notice = `${def.attribute_display_name} ${editing ? "saved" : "added"}.`;
      window.location.assign(`${window.location.pathname}?notice=${encodeURIComponent(notice)}#ca-${def.attribute_model}`);
    } catch (e) {
      const slot = e.field && form.querySelector(`#ca-error-${CSS.escape(e.field)}`);
      if (slot) {
        slot.textContent = e.message;
        slot.hidden = false;
        const input = form.querySelector(`[name="${CSS.escape(e.field)}"]`) || (e.field === "attribute_values" ? valueInput : null);
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      } else {
        formError.textContent = e.message;
      }
    } finally {
      submit.disabled = false;
    }
  });

  // Delete, after a confirmation.
  const dialog = page.querySelector("[data-ca-confirm]");
  const confirmText = dialog.querySelector("[data-ca-confirm-text]");
  const confirmError = dialog.querySelector("[data-ca-confirm-error]");
  let deleting = null;
  function confirmDelete(id, label) {
    deleting = id;
    confirmText.textContent = `${label} disappears from every conversation and contact panel. Values already stored stay in the API data.`;
    confirmError.textContent = "";
    dialog.showModal();
  }
  dialog.querySelector("[data-ca-confirm-delete]").addEventListener("click", async () => {
    if (!deleting) return;
    try {
      await api("DELETE", `/custom_attribute_definitions/${deleting}`);
      window.location.assign(`${window.location.pathname}?notice=${encodeURIComponent("Attribute deleted.")}`);
    } catch (e) {
      confirmError.textContent = e.message;
    }
  });

  syncType();
})();
