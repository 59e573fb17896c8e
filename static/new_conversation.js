// "New conversation" (issue 11): any [data-new-conversation] button (with an optional
// data-contact-id) opens the dialog of templates/partials/new_conversation.html. The agent
// picks a contact by search or types a new phone number, picks a WhatsApp inbox and an
// approved template (the shared static/template_picker.js), and sends: POST
// /api/v1/accounts/{a}/conversations assigns it to the sender and queues the template, then
// the conversation opens. Everything is set with textContent.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return; // the sign-in page
  const dialog = document.getElementById("new-conversation");
  if (!dialog || !window.SwitchboardTemplatePicker) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const $ = (id) => document.getElementById(id);

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

  let contact = null; // {id, name, phone_number}
  let templatesReady = false;
  let sending = false;
  const inboxes = new Map(); // id → inbox JSON (with message_templates)

  const picker = window.SwitchboardTemplatePicker.create({
    prefix: "nc-tpl",
    elements: {
      search: $("nc-template-search"),
      list: $("nc-template-list"),
      form: $("nc-template-form"),
      name: $("nc-template-name"),
      fields: $("nc-template-fields"),
      preview: $("nc-template-preview"),
    },
    onChange: (ready) => { templatesReady = ready; updateSend(); },
  });

  // E.164 as contact_fields::normalize_phone accepts it (the server checks again).
  function phoneValue() {
    const raw = $("nc-phone").value.trim();
    if (!raw) return "";
    const digits = raw.replace(/[\s\-.()]/g, "");
    return /^\+[1-9][0-9]{7,14}$/.test(digits) ? digits : null;
  }

  function updateSend() {
    const phone = phoneValue();
    const to = contact || phone;
    $("nc-send").disabled = sending || !to || !$("nc-inbox").value || !templatesReady;
  }

  function showContact(c) {
    contact = c;
    $("nc-chosen").hidden = !c;
    $("nc-pick").hidden = !!c;
    if (c) {
      const name = c.name || "Unknown";
      $("nc-chosen-name").textContent = c.phone_number && c.phone_number !== name ? `${name} · ${c.phone_number}` : name;
      $("nc-phone").value = "";
    }
    updateSend();
  }

  async function searchContacts() {
    const q = $("nc-contact-search").value.trim();
    const list = $("nc-contact-results");
    if (!q) { list.replaceChildren(); return; }
    try {
      const res = await api("GET", `/contacts/search?q=${encodeURIComponent(q)}`);
      if ($("nc-contact-search").value.trim() !== q) return; // a newer search runs
      list.replaceChildren();
      const rows = (res && res.payload) || [];
      if (!rows.length) {
        const li = document.createElement("li");
        li.className = "muted small";
        li.textContent = "No contact matches. Type a new phone number below.";
        list.append(li);
      }
      rows.slice(0, 8).forEach((c) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "nc-result";
        const name = document.createElement("strong");
        name.textContent = c.name || "Unknown";
        const detail = document.createElement("span");
        detail.className = "muted small";
        detail.textContent = c.phone_number || c.email || "";
        b.append(name, " ", detail);
        b.addEventListener("click", () => { showContact(c); $("nc-inbox").focus(); });
        li.append(b);
        list.append(li);
      });
    } catch (err) {
      $("nc-error").textContent = err.message;
    }
  }

  let searchTimer = null;
  $("nc-contact-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchContacts, 200);
  });
  $("nc-phone").addEventListener("input", () => {
    const v = phoneValue();
    $("nc-phone").setAttribute("aria-invalid", v === null ? "true" : "false");
    updateSend();
  });
  $("nc-change").addEventListener("click", () => { showContact(null); $("nc-contact-search").focus(); });

  async function loadTemplates() {
    const id = $("nc-inbox").value;
    picker.reset();
    if (!id) { picker.setTemplates([]); return; }
    try {
      let inbox = inboxes.get(id);
      if (!inbox || !inbox.message_templates) {
        inbox = await api("GET", `/inboxes/${id}`);
        inboxes.set(id, inbox);
      }
      picker.setTemplates(inbox.message_templates || []);
    } catch (err) {
      picker.setTemplates([]);
      $("nc-error").textContent = err.message;
    }
  }
  $("nc-inbox").addEventListener("change", loadTemplates);

  async function open(contactId) {
    $("nc-error").textContent = "";
    $("nc-contact-search").value = "";
    $("nc-contact-results").replaceChildren();
    $("nc-phone").value = "";
    $("nc-phone").removeAttribute("aria-invalid");
    sending = false;
    showContact(null);
    dialog.showModal();
    try {
      const res = await api("GET", "/inboxes");
      const select = $("nc-inbox");
      const previous = select.value;
      select.replaceChildren();
      ((res && res.payload) || []).forEach((i) => {
        inboxes.set(String(i.id), i);
        const o = document.createElement("option");
        o.value = String(i.id);
        o.textContent = i.phone_number ? `${i.name} (${i.phone_number})` : i.name;
        select.append(o);
      });
      if (!select.options.length) {
        $("nc-error").textContent = "No WhatsApp inbox yet: an administrator adds one in Settings.";
      } else if (previous && inboxes.has(previous)) {
        select.value = previous;
      }
      await loadTemplates();
      if (contactId) {
        const c = await api("GET", `/contacts/${encodeURIComponent(contactId)}`);
        showContact((c && c.payload) || c);
      }
    } catch (err) {
      $("nc-error").textContent = err.message;
    }
    (contact ? $("nc-inbox") : $("nc-contact-search")).focus();
  }

  async function send() {
    const message = picker.payload();
    if (!message || sending) return;
    const payload = {
      inbox_id: Number($("nc-inbox").value),
      assignee_id: Number(body.dataset.userId) || undefined,
      message,
    };
    if (contact) {
      payload.contact_id = contact.id;
    } else {
      const phone = phoneValue();
      if (!phone) {
        $("nc-error").textContent = "Type the phone number in international form, such as +14155550123.";
        $("nc-phone").focus();
        return;
      }
      payload.phone_number = phone;
    }
    $("nc-error").textContent = "";
    sending = true;
    updateSend();
    try {
      const conv = await api("POST", "/conversations", payload);
      dialog.close();
      window.location.assign(`/app/accounts/${accountId}/conversations/${conv.id}`);
    } catch (err) {
      $("nc-error").textContent = err.message;
      sending = false;
      updateSend();
    }
  }
  $("nc-send").addEventListener("click", send);

  document.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-new-conversation]");
    if (!btn) return;
    e.preventDefault();
    open(btn.dataset.contactId || "");
  });
})();
