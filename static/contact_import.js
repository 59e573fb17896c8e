// The contact CSV import page (templates/contact_import.html): uploads the file to
// POST /api/v1/accounts/{id}/contacts/import, then polls GET …/contacts/imports/{id} until the
// import is completed or failed, showing its progress and the rows it refused (line, column,
// reason). Text only (textContent), never HTML. `?import=<id>` in the address keeps the
// import open across a reload.
"use strict";
(function () {
  const main = document.querySelector("main.contact-import");
  const form = document.getElementById("import-form");
  if (!main || !form) return;
  const account = document.body.dataset.accountId;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const $ = (id) => document.getElementById(id);
  const input = $("import-file");
  const submit = $("import-submit");
  const fileError = $("import-file-error");
  const section = $("import-progress");
  const number = new Intl.NumberFormat();
  let timer = null;

  function toast(message, kind) {
    const host = $("toasts");
    if (!host) return;
    const el = document.createElement("div");
    el.className = `toast ${kind || ""}`;
    el.textContent = message;
    host.appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }

  function showFileError(message) {
    fileError.textContent = message || "";
    fileError.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "import-file-hint import-file-error");
    } else {
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "import-file-hint");
    }
  }

  function statusText(d) {
    switch (d.status) {
      case "pending": return "Waiting to start…";
      case "processing": return `Importing… ${number.format(d.rows_done)} of ${number.format(d.rows_total)} rows read.`;
      case "completed": return `Done: ${number.format(d.imported)} contacts imported (${number.format(d.created)} created, ${number.format(d.updated)} updated), ${number.format(d.failed)} rows not imported.`;
      case "failed": return `The import failed: ${d.error || "unknown error"}. Rows read before it stopped were kept.`;
      default: return d.status;
    }
  }

  function render(d) {
    section.hidden = false;
    $("import-name").textContent = d.file_name || "";
    $("import-status").textContent = statusText(d);
    main.setAttribute("aria-busy", d.status === "pending" || d.status === "processing" ? "true" : "false");
    const bar = $("import-bar");
    bar.max = Math.max(1, d.rows_total);
    bar.value = Math.min(d.rows_done, bar.max);
    $("count-done").textContent = `${number.format(d.rows_done)} / ${number.format(d.rows_total)}`;
    $("count-created").textContent = number.format(d.created);
    $("count-updated").textContent = number.format(d.updated);
    $("count-failed").textContent = number.format(d.failed);
    const rows = $("import-error-rows");
    const failed = Array.isArray(d.failed_rows) ? d.failed_rows : [];
    if (rows.childElementCount !== failed.length) {
      rows.replaceChildren(...failed.map((r) => {
        const tr = document.createElement("tr");
        [["Line", String(r.line)], ["Column", r.field || "—"], ["Reason", r.reason]].forEach(([label, text]) => {
          const td = document.createElement("td");
          td.dataset.label = label;
          td.textContent = text;
          tr.appendChild(td);
        });
        return tr;
      }));
    }
    $("import-failures").hidden = failed.length === 0;
    $("import-failed-csv").href = `/api/v1/accounts/${account}/contacts/imports/${encodeURIComponent(d.id)}/failed_rows`;
    $("import-truncated").hidden = !d.failed_rows_truncated;
    $("import-done").hidden = d.status !== "completed";
    section.dataset.status = d.status;
  }

  async function poll(id) {
    clearTimeout(timer);
    try {
      const r = await fetch(`/api/v1/accounts/${account}/contacts/imports/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(`status ${r.status}`);
      const d = await r.json();
      render(d);
      if (d.status === "pending" || d.status === "processing") {
        timer = setTimeout(() => poll(id), 700);
      } else if (d.status === "completed") {
        toast(`Import finished: ${number.format(d.imported)} imported, ${number.format(d.failed)} not imported.`, d.failed ? "" : "success");
      }
    } catch (_) {
      $("import-status").textContent = "Lost contact with the server; retrying…";
      timer = setTimeout(() => poll(id), 3000);
    }
  }

  input.addEventListener("change", () => showFileError(""));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = input.files && input.files[0];
    if (!file) {
      showFileError("Choose a CSV file first.");
      input.focus();
      return;
    }
    showFileError("");
    submit.disabled = true;
    submit.textContent = "Uploading…";
    const data = new FormData();
    data.append("import_file", file, file.name);
    try {
      const r = await fetch(form.action, { method: "POST", body: data, headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
      let body = {};
      try { body = await r.json(); } catch (_) { /* not JSON */ }
      if (!r.ok) {
        showFileError(body.message || body.error || `The upload failed (${r.status}).`);
        input.focus();
        return;
      }
      const url = new URL(window.location.href);
      url.searchParams.set("import", body.id);
      history.replaceState(null, "", url);
      main.dataset.importId = String(body.id);
      $("import-error-rows").replaceChildren();
      render(body);
      toast("File uploaded; the import has started.", "success");
      form.reset();
      poll(body.id);
    } catch (_) {
      showFileError("The upload failed: the server could not be reached.");
    } finally {
      submit.disabled = false;
      submit.textContent = "Import";
    }
  });

  if (main.dataset.importId) poll(main.dataset.importId);
})();
