// The Contacts screen and a contact's page (issue 11, contacts-ui), against Chatwoot's API
// under /api/v1/accounts/{account}: the list's selection and bulk actions (add label,
// export selected, delete), "New contact" (POST /contacts), and on a contact's page Edit
// (PUT /contacts/{id}), labels (POST /contacts/{id}/labels, with workspace.js's label
// picker), Merge (search, confirm, POST /actions/contact_merge) and Delete. A 422 shows its
// message next to the field it names. Text is always set with textContent.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const toast = (text, kind) => { if (window.switchboardToast) window.switchboardToast(text, kind); };

  /** Calls the JSON API; throws an Error carrying `field` and the server's message. */
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
      const err = new Error((json && (json.message || json.error)) || (resp.status === 404
        ? "This action is not available (the server answered 404)."
        : `The server answered ${resp.status}.`));
      err.field = json && json.field;
      err.status = resp.status;
      throw err;
    }
    return json;
  }

  /** Clears a form's field errors, then shows `err` next to its field (or at the bottom). */
  function showFieldError(form, err) {
    form.querySelectorAll("[data-field-error]").forEach((p) => { p.textContent = ""; });
    if (!err) return;
    const field = (err.field || "").split(".")[0];
    const slot = form.querySelector(`[data-field-error="${CSS.escape(field)}"]`) || form.querySelector('[data-field-error=""]');
    if (slot) slot.textContent = err.message;
    const input = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  // ---------- dialogs ----------
  document.addEventListener("click", (e) => {
    const opener = e.target.closest("[data-open-dialog]");
    if (!opener) return;
    const d = document.getElementById(opener.dataset.openDialog);
    if (d && !d.open) {
      d.showModal();
      const first = d.querySelector("input:not([type=hidden]), button.primary");
      if (first) first.focus();
    }
  });

  // ---------- the list: selection and bulk actions ----------
  // Bulk actions are ONE request each (Chatwoot's POST /bulk_actions, type "Contact"), all
  // or nothing. "Select all matching" selects every contact of the search and filters, not
  // only this page: the request then carries the list's own parameters (`matching`) and the
  // server resolves the ids from the same filter.
  const list = document.querySelector("[data-contacts-list]");
  if (list) {
    const checks = () => Array.from(document.querySelectorAll("[data-contact-check]"));
    const selected = () => checks().filter((c) => c.checked).map((c) => Number(c.value));
    const allBox = () => document.getElementById("contacts-all");
    const bar = document.getElementById("contacts-bulk");
    const count = document.getElementById("contacts-selected");
    const matchingButton = bar && bar.querySelector("[data-select-matching]");
    // null, or {total, exact} while every matching contact is selected.
    let matching = null;
    /** The list's search and filters (its query string without sort and paging). */
    function listParams() {
      const out = {};
      new URLSearchParams(location.search).forEach((v, k) => {
        if (!["after", "before", "from", "sort", "dir"].includes(k) && v !== "") out[k] = v;
      });
      return out;
    }
    const morePages = () => !!document.querySelector('.contacts-pager a[rel="next"], .contacts-pager a[rel="prev"]');
    const plural = (n) => `${n} contact${n === 1 ? "" : "s"}`;
    function sync() {
      const n = selected().length;
      const everyOnPage = n > 0 && n === checks().length;
      if (!everyOnPage) matching = null;
      if (bar) bar.hidden = n === 0;
      if (count) {
        count.textContent = matching
          ? `All ${matching.exact ? "" : "first "}${matching.total} matching selected`
          : `${n} selected`;
      }
      // Offered as soon as something is selected (a phone has no header checkbox) and the
      // search has more than this page.
      if (matchingButton) matchingButton.hidden = n === 0 || !!matching || !morePages();
      const all = allBox();
      if (all) {
        all.checked = everyOnPage;
        all.indeterminate = n > 0 && n < checks().length;
      }
      checks().forEach((c) => c.closest("tr").classList.toggle("selected", c.checked));
    }
    document.addEventListener("change", (e) => {
      if (e.target.id === "contacts-all") { checks().forEach((c) => { c.checked = e.target.checked; }); sync(); }
      else if (e.target.matches("[data-contact-check]")) sync();
    });
    sync();
    /** The selection part of a bulk action body. */
    const target = () => (matching ? { matching: listParams() } : { ids: selected() });
    const howMany = () => (matching ? matching.total : selected().length);

    // Live: contacts created or changed elsewhere (ingest, CSV import, the API, another
    // agent) redraw the rows of this page, read again from the server (static/app.js passes
    // the stream's contact events on as "switchboard:contact"). Not while contacts are
    // selected or a dialog is open: the next event after that catches up.
    const results = document.getElementById("contacts-results");
    let stale = false;
    async function redraw() {
      if (selected().length || document.querySelector("dialog[open]")) { stale = true; return; }
      stale = false;
      try {
        const resp = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!resp.ok) return;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html"); // askama-escaped
        const fresh = doc.getElementById("contacts-results");
        if (fresh && results) {
          results.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.importNode(n, true)));
          results.dataset.refreshed = String(Number(results.dataset.refreshed || 0) + 1);
          sync();
        }
      } catch (_) { /* the next event redraws */ }
    }
    let redrawTimer = null;
    document.addEventListener("switchboard:contact", () => {
      clearTimeout(redrawTimer);
      redrawTimer = setTimeout(redraw, 300);
    });
    document.addEventListener("change", () => { if (stale && !selected().length) redraw(); });

    document.addEventListener("click", async (e) => {
      if (e.target.closest("[data-select-matching]")) {
        const btn = e.target.closest("button");
        btn.disabled = true;
        try {
          const qs = new URLSearchParams(listParams()).toString();
          const resp = await fetch(`/app/accounts/${accountId}/partials/contact_count?${qs}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
          if (!resp.ok) throw new Error(`The server answered ${resp.status}.`);
          const data = await resp.json();
          checks().forEach((c) => { c.checked = true; });
          matching = { total: data.total, exact: data.exact };
          sync();
          if (!data.exact) toast(`More than ${data.total} contacts match: narrow the search to act on all of them.`, "error");
        } catch (err) {
          toast(err.message, "error");
        } finally {
          btn.disabled = false;
        }
      } else if (e.target.closest("[data-bulk-export]")) {
        if (matching) {
          const all = document.querySelector("[data-export-all]");
          if (all) location.href = all.href;
          return;
        }
        const ids = selected();
        if (!ids.length) return;
        const qs = ids.map((id) => `ids[]=${id}`).join("&");
        location.href = `/api/v1/accounts/${accountId}/contacts/export?${qs}`;
      } else if (e.target.closest("[data-bulk-label]")) {
        const label = document.getElementById("bulk-label").value;
        if (!label) { toast("Choose a label first.", "error"); return; }
        const button = e.target.closest("button");
        button.disabled = true;
        try {
          const res = await api("POST", "/bulk_actions", Object.assign({ type: "Contact", labels: { add: [label] } }, target()));
          toast(`Label “${label}” added to ${plural(res ? res.count : howMany())}.`, "success");
          location.reload();
        } catch (err) {
          toast(`Nothing was labelled: ${err.message}`, "error");
        } finally {
          button.disabled = false;
        }
      } else if (e.target.closest("[data-bulk-delete]")) {
        const d = document.getElementById("bulk-delete-dialog");
        document.getElementById("bulk-delete-title").textContent = `Delete ${plural(howMany())}?`;
        document.getElementById("bulk-delete-error").textContent = "";
        d.showModal();
      } else if (e.target.closest("[data-bulk-delete-confirm]")) {
        const button = e.target.closest("button");
        button.disabled = true;
        try {
          await api("POST", "/bulk_actions", Object.assign({ type: "Contact", action_name: "delete" }, target()));
          location.reload();
        } catch (err) {
          document.getElementById("bulk-delete-error").textContent = `Nothing was deleted: ${err.message}`;
        } finally {
          button.disabled = false;
        }
      }
    });
  }

  // ---------- New contact ----------
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (form.id !== "new-contact-form" && form.id !== "edit-contact-form") return;
    e.preventDefault();
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    // New: the fields filled in. Edit: only what changed (a cleared field is sent as null).
    const editing = form.id === "edit-contact-form";
    const payload = {};
    const extra = {};
    form.querySelectorAll("input[name]").forEach((i) => {
      const v = i.value.trim();
      if (editing && v === i.defaultValue.trim()) return;
      if (i.hasAttribute("data-additional")) extra[i.name] = v;
      else if (v || editing) payload[i.name] = v || null;
    });
    if (Object.keys(extra).length) payload.additional_attributes = extra;
    if (editing && !Object.keys(payload).length) { form.closest("dialog").close(); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (form.id === "new-contact-form") {
        const res = await api("POST", "/contacts", payload);
        const contact = res && res.payload && (res.payload.contact || res.payload);
        showFieldError(form, null);
        location.href = `/app/accounts/${accountId}/contacts/${contact.id}`;
      } else {
        const id = document.querySelector("[data-contact-page]").dataset.contactId;
        await api("PUT", `/contacts/${id}`, payload);
        showFieldError(form, null);
        location.reload();
      }
    } catch (err) {
      showFieldError(form, err);
    } finally {
      button.disabled = false;
    }
  });

  // ---------- a contact's page ----------
  const page = document.querySelector("[data-contact-page]");
  if (!page) return;
  const contactId = page.dataset.contactId;
  const contactName = page.dataset.contactName;

  // Labels: workspace.js's picker submits this form with the whole list.
  document.addEventListener("submit", async (e) => {
    const form = e.target.closest('form[data-action="contact-labels"]');
    if (!form) return;
    e.preventDefault();
    const labels = form.querySelector("input").value.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const res = await api("POST", `/contacts/${contactId}/labels`, { labels });
      const now = (res && Array.isArray(res.payload)) ? res.payload : labels;
      renderChips(now);
    } catch (err) {
      toast(err.message, "error");
    }
  });
  function renderChips(labels) {
    const input = document.getElementById("labels-input");
    if (input) input.value = labels.join(", ");
    const chips = document.getElementById("label-chips");
    const options = Array.from(document.querySelectorAll("#label-options [role=option]"));
    chips.textContent = "";
    labels.forEach((title) => {
      const option = options.find((o) => o.dataset.label.toLowerCase() === title.toLowerCase());
      const li = document.createElement("li");
      li.className = "chip";
      li.dataset.label = title;
      const dot = option && option.querySelector("svg");
      if (dot) li.appendChild(dot.cloneNode(true));
      const text = document.createElement("span");
      text.className = "chip-text";
      text.textContent = title;
      li.appendChild(text);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.dataset.removeLabel = title;
      remove.setAttribute("aria-label", `Remove label ${title}`);
      const x = document.createElement("span");
      x.setAttribute("aria-hidden", "true");
      x.textContent = "×";
      remove.appendChild(x);
      li.appendChild(remove);
      chips.appendChild(li);
    });
    options.forEach((o) => o.setAttribute("aria-selected", String(labels.some((l) => l.toLowerCase() === o.dataset.label.toLowerCase()))));
  }

  // Merge: search, pick, confirm.
  const mergeSearch = document.getElementById("merge-search");
  const mergeResults = document.getElementById("merge-results");
  const mergeConfirm = document.querySelector("[data-merge-confirm]");
  const mergeText = document.getElementById("merge-confirm-text");
  const mergeError = document.getElementById("merge-error");
  let mergee = null;
  let searchTimer = null;
  if (mergeSearch) {
    mergeSearch.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(findMergees, 250);
    });
  }
  async function findMergees() {
    const q = mergeSearch.value.trim();
    mergeResults.textContent = "";
    mergee = null;
    mergeConfirm.disabled = true;
    mergeText.hidden = true;
    mergeError.textContent = "";
    if (!q) return;
    try {
      const res = await api("GET", `/contacts/search?q=${encodeURIComponent(q)}`);
      const found = (res.payload || []).filter((c) => String(c.id) !== String(contactId)).slice(0, 8);
      if (!found.length) {
        const li = document.createElement("li");
        li.className = "muted small";
        li.textContent = "No other contact matches.";
        mergeResults.appendChild(li);
      }
      found.forEach((c) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.className = "merge-pick";
        b.dataset.mergeeId = c.id;
        b.dataset.mergeeName = c.name || c.phone_number || `Contact ${c.id}`;
        b.setAttribute("aria-pressed", "false");
        const strong = document.createElement("strong");
        strong.textContent = b.dataset.mergeeName;
        const meta = document.createElement("span");
        meta.className = "muted small";
        meta.textContent = [c.phone_number, c.email, c.additional_attributes && c.additional_attributes.bsuid].filter(Boolean).join(" · ");
        b.append(strong, " ", meta);
        li.appendChild(b);
        mergeResults.appendChild(li);
      });
    } catch (err) {
      mergeError.textContent = err.message;
    }
  }
  document.addEventListener("click", async (e) => {
    const pick = e.target.closest(".merge-pick");
    if (pick) {
      mergeResults.querySelectorAll(".merge-pick").forEach((b) => b.setAttribute("aria-pressed", String(b === pick)));
      mergee = { id: Number(pick.dataset.mergeeId), name: pick.dataset.mergeeName };
      mergeText.textContent = `${mergee.name} will be merged into ${contactName}: its conversations, notes, labels and identities move here, and ${mergee.name} is deleted.`;
      mergeText.hidden = false;
      mergeConfirm.disabled = false;
      return;
    }
    if (e.target.closest("[data-merge-confirm]") && mergee) {
      mergeConfirm.disabled = true;
      try {
        await api("POST", "/actions/contact_merge", { base_contact_id: Number(contactId), mergee_contact_id: mergee.id });
        location.reload();
      } catch (err) {
        mergeError.textContent = err.message;
        mergeConfirm.disabled = false;
      }
      return;
    }
    if (e.target.closest("[data-delete-confirm]")) {
      const button = e.target.closest("button");
      button.disabled = true;
      try {
        await api("DELETE", `/contacts/${contactId}`);
        location.href = `/app/accounts/${accountId}/contacts`;
      } catch (err) {
        document.getElementById("delete-error").textContent = err.message;
        button.disabled = false;
      }
    }
  });
})();
