// Issue 12 (profile-typing): the WhatsApp business profile section of an inbox's settings
// (templates/settings/business_profile.html). Reads the profile through
// GET /api/v1/accounts/{id}/inboxes/{inbox}/business_profile and saves only the fields that
// changed (and a new picture) with PUT as multipart. The server checks Meta's limits and
// answers 422 naming the field; the message is shown under that field. Text is set with
// textContent only.
"use strict";

(function () {
  const section = document.getElementById("business-profile");
  if (!section) return;
  const accountId = document.body.dataset.accountId;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const url = `/api/v1/accounts/${accountId}/inboxes/${section.dataset.inboxId}/business_profile`;
  const form = document.getElementById("bp-form");
  const status = document.getElementById("bp-status");
  const error = document.getElementById("bp-error");
  const saved = document.getElementById("bp-saved");
  const save = document.getElementById("bp-save");
  const picture = document.getElementById("bp-profile_picture");
  const texts = ["about", "description", "address", "email", "vertical"];
  let current = null;

  const el = (name) => document.getElementById(`bp-${name}`);
  const websites = () => [0, 1].map((i) => el(`website-${i}`).value.trim()).filter(Boolean);

  async function call(method, body) {
    const resp = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      body,
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

  function clearErrors() {
    error.hidden = true;
    error.textContent = "";
    section.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    section.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  }

  // `websites[1]` → the second website box; `websites` → the pair's shared line.
  function showError(err) {
    const field = (err.field || "").replace(/\[(\d+)\]$/, "-$1");
    const slot = field && document.getElementById(`bp-${field}-error`);
    if (slot) {
      slot.textContent = err.message;
      slot.hidden = false;
      const input = field.startsWith("websites-") ? el(`website-${field.slice(9)}`) : el(field);
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      if (field === "websites") el("website-0").setAttribute("aria-invalid", "true");
    } else {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  function fill(p) {
    current = p;
    for (const name of texts) el(name).value = p[name] || "";
    if (p.vertical && !el("vertical").querySelector(`option[value="${CSS.escape(p.vertical)}"]`)) {
      el("vertical").value = "";
    }
    [0, 1].forEach((i) => { el(`website-${i}`).value = (p.websites || [])[i] || ""; });
    const pictureNote = el("picture-current");
    if (/^https?:\/\//.test(p.profile_picture_url || "")) {
      // Issue 12 (h12): Switchboard fetches the picture from Meta and serves it (the CSP
      // loads no image from Meta); the version changes with Meta's URL, so a new picture
      // is not hidden by the short browser cache.
      let v = 0;
      for (const ch of p.profile_picture_url) v = (v * 31 + ch.charCodeAt(0)) >>> 0;
      const img = document.createElement("img");
      img.className = "bp-picture";
      img.src = `${url}/picture?v=${v.toString(36)}`;
      img.alt = "Current WhatsApp profile picture";
      img.width = 96;
      img.height = 96;
      img.addEventListener("error", () => {
        pictureNote.textContent = "The current picture could not be loaded from WhatsApp.";
      });
      pictureNote.replaceChildren(img);
    } else {
      pictureNote.textContent = "No picture yet.";
    }
    picture.value = "";
    picture.disabled = !p.picture_upload_available;
    el("profile_picture-hint").textContent = p.picture_upload_available
      ? "JPEG or PNG, up to 5 MB. WhatsApp shows it round, so keep the logo in the middle."
      : "Changing the picture needs the Meta app's ID: set WHATSAPP_APP_ID on the server and restart it.";
  }

  async function load() {
    try {
      fill(await call("GET"));
      status.hidden = true;
      form.hidden = false;
    } catch (err) {
      status.textContent = "";
      status.hidden = true;
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors();
    saved.textContent = "";
    const body = new FormData();
    let changes = 0;
    for (const name of texts) {
      const value = el(name).value.trim();
      if (value !== (current[name] || "")) { body.append(name, value); changes++; }
    }
    const sites = websites();
    if (sites.join("\n") !== (current.websites || []).join("\n")) {
      if (sites.length) sites.forEach((w) => body.append("websites[]", w));
      else body.append("websites[]", "");
      changes++;
    }
    if (picture.files && picture.files[0]) { body.append("profile_picture", picture.files[0]); changes++; }
    if (!changes) { saved.textContent = "Nothing changed."; return; }
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      fill(await call("PUT", body));
      saved.textContent = "Saved to WhatsApp.";
    } catch (err) {
      showError(err);
    } finally {
      save.disabled = false;
      save.textContent = "Save profile";
    }
  });

  load();
})();
