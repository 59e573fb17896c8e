// Composer and message actions: emoji, drafts, paste/drop files, reply quoting, reactions, retry (issue 10).
// Switchboard agent UI, the thread and the composer:
// - date separators ("Today", "Yesterday", weekday, date) between days, in the agent's time
//   zone, kept right when earlier pages are prepended and live messages arrive;
// - a lightbox for photos (Escape closes, arrow keys go to the previous / next photo);
// - hover / keyboard-focus actions on a message: Reply (quoting it), React, Copy, Retry;
// - the emoji picker (static/emoji_picker.js, loaded with import() when first opened);
// - drafts per conversation (localStorage), pasted / dropped / chosen files as removable chips,
//   and the `composer:attach` event (`detail.files`) other modules use to add files.
// Customer text is only ever set with textContent: nothing here builds HTML from strings.
"use strict";

(function () {
  const body = document.body;
  const accountId = body.dataset.accountId;
  if (!accountId) return;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const $ = (id) => document.getElementById(id);
  const displayId = () => { const t = $("thread"); return t ? t.dataset.displayId : ""; };

  async function api(method, path, payload) {
    const opts = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, credentials: "same-origin" };
    if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    const resp = await fetch(`/api/v1/accounts/${accountId}${path}`, opts);
    let json = null;
    try { json = await resp.json(); } catch (_) { json = null; }
    if (!resp.ok) throw new Error((json && json.error) || `The server answered ${resp.status}`);
    return json;
  }

  function announce(text) {
    // The workspace's one toast component (static/workspace.js) when it is there.
    if (window.switchboardToast) { window.switchboardToast(text, "success"); return; }
    const toast = $("composer-toast");
    if (!toast) return;
    toast.textContent = text;
    toast.classList.add("shown");
    clearTimeout(announce.timer);
    announce.timer = setTimeout(() => { toast.classList.remove("shown"); toast.textContent = ""; }, 2500);
  }

  // ---------- date separators ----------
  const dayKey = (d) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  function dayLabel(d) {
    const now = new Date();
    const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (dayKey(d) === dayKey(now)) return "Today";
    if (dayKey(d) === dayKey(yesterday)) return "Yesterday";
    const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    if (d < startOfToday && startOfToday - d < 6 * 86400000) return d.toLocaleDateString(undefined, { weekday: "long" });
    const opts = { weekday: "short", day: "numeric", month: "long" };
    if (d.getFullYear() !== now.getFullYear()) opts.year = "numeric";
    return d.toLocaleDateString(undefined, opts);
  }
  const isSeparator = (n) => n.nodeType === 1 && n.classList.contains("day-separator");
  function separate() {
    const list = $("messages");
    if (!list) return;
    // Separators and local times change heights: keep the reader's distance from the bottom
    // (the newest message stays in view; a prepended page keeps its place).
    const fromBottom = list.scrollHeight - list.scrollTop;
    let last = null;
    list.querySelectorAll(":scope > li.day-separator").forEach((x) => x.remove());
    list.querySelectorAll(":scope > li[data-message-id]").forEach((li) => {
      const time = li.querySelector(":scope > .bubble time[datetime], :scope > time[datetime]");
      if (!time) return;
      const d = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) return;
      // The time itself is shown in the viewer's zone by static/local_time.js.
      const key = dayKey(d);
      if (key === last) return;
      last = key;
      const sep = document.createElement("li");
      sep.className = "day-separator";
      const label = document.createElement("span");
      label.textContent = dayLabel(d);
      sep.append(label);
      li.before(sep);
    });
    list.scrollTop = list.scrollHeight - fromBottom;
  }
  let listObserver = null;
  function watchList() {
    const list = $("messages");
    if (!list || list === watchList.list) return;
    watchList.list = list;
    if (listObserver) listObserver.disconnect();
    listObserver = new MutationObserver((records) => {
      const onlySeparators = records.every((r) => [...r.addedNodes, ...r.removedNodes].every((n) => n.nodeType !== 1 || isSeparator(n)));
      if (!onlySeparators) separate();
    });
    listObserver.observe(list, { childList: true });
    separate();
  }

  // ---------- lightbox ----------
  let lightboxIndex = 0;
  let lightboxReturn = null;
  const photos = () => Array.from(document.querySelectorAll("#messages a[data-lightbox]"));
  function showPhoto(i) {
    const all = photos();
    if (!all.length) return;
    lightboxIndex = (i + all.length) % all.length;
    const a = all[lightboxIndex];
    const img = $("lightbox-img");
    const thumb = a.querySelector("img");
    img.src = a.getAttribute("href");
    img.alt = thumb ? thumb.alt : "Photo";
    $("lightbox-open").href = a.getAttribute("href");
    $("lightbox-count").textContent = `${lightboxIndex + 1} / ${all.length}`;
    $("lightbox-prev").disabled = all.length < 2;
    $("lightbox-next").disabled = all.length < 2;
  }
  function openLightbox(a) {
    const dialog = $("lightbox");
    if (!dialog || !dialog.showModal) return false;
    lightboxReturn = a;
    showPhoto(photos().indexOf(a));
    dialog.showModal();
    $("lightbox-close").focus();
    return true;
  }
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-lightbox]");
    if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
      if (openLightbox(a)) e.preventDefault();
      return;
    }
    const dialog = $("lightbox");
    if (!dialog || !dialog.open) return;
    if (e.target === dialog || e.target.id === "lightbox-close") dialog.close();
    else if (e.target.id === "lightbox-prev") showPhoto(lightboxIndex - 1);
    else if (e.target.id === "lightbox-next") showPhoto(lightboxIndex + 1);
  });
  document.addEventListener("keydown", (e) => {
    const dialog = $("lightbox");
    if (!dialog || !dialog.open) return;
    if (e.key === "ArrowLeft") { e.preventDefault(); showPhoto(lightboxIndex - 1); }
    if (e.key === "ArrowRight") { e.preventDefault(); showPhoto(lightboxIndex + 1); }
  });
  document.addEventListener("close", (e) => {
    if (e.target.id !== "lightbox") return;
    $("lightbox-img").removeAttribute("src");
    if (lightboxReturn && lightboxReturn.isConnected) lightboxReturn.focus();
  }, true);

  // ---------- popovers (reactions, emoji picker) ----------
  let popoverAnchor = null;
  function placePopover(pop, anchor) {
    const r = anchor.getBoundingClientRect();
    const w = pop.offsetWidth;
    const h = pop.offsetHeight;
    const left = Math.max(8, Math.min(r.left, window.innerWidth - w - 8));
    const above = r.top - h - 6;
    const top = above >= 8 ? above : Math.min(r.bottom + 6, window.innerHeight - h - 8);
    pop.style.left = `${left}px`; // CSSOM, allowed by the style-src CSP
    pop.style.top = `${Math.max(8, top)}px`;
  }
  function closePopover(returnFocus) {
    const pop = $("emoji-popover");
    if (!pop || pop.hidden) return;
    pop.hidden = true;
    pop.replaceChildren();
    if (popoverAnchor) {
      popoverAnchor.setAttribute("aria-expanded", "false");
      if (returnFocus && popoverAnchor.isConnected) popoverAnchor.focus();
    }
    popoverAnchor = null;
  }
  function openPopover(anchor, content) {
    const pop = $("emoji-popover");
    if (!pop) return null;
    closePopover(false);
    popoverAnchor = anchor;
    anchor.setAttribute("aria-expanded", "true");
    pop.replaceChildren(content);
    pop.hidden = false;
    placePopover(pop, anchor);
    return pop;
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && $("emoji-popover") && !$("emoji-popover").hidden) {
      e.preventDefault();
      e.stopPropagation();
      closePopover(true);
    }
  }, true);
  document.addEventListener("mousedown", (e) => {
    const pop = $("emoji-popover");
    if (!pop || pop.hidden) return;
    if (!pop.contains(e.target) && !(popoverAnchor && popoverAnchor.contains(e.target))) closePopover(false);
  });

  let pickerModule = null;
  async function openEmojiPicker(anchor, onPick) {
    const loading = document.createElement("p");
    loading.className = "muted small emoji-loading";
    loading.textContent = "Loading emoji…";
    openPopover(anchor, loading);
    try {
      if (!pickerModule) pickerModule = await import("/static/emoji_picker.js");
      if (popoverAnchor !== anchor) return;
      const picker = pickerModule.createPicker((emoji) => { closePopover(true); onPick(emoji); });
      const pop = openPopover(anchor, picker.element);
      await picker.ready;
      if (pop && popoverAnchor === anchor) placePopover(pop, anchor);
      picker.focus();
    } catch (err) {
      loading.textContent = `The emoji could not be loaded: ${err.message}`;
    }
  }

  function insertAtCaret(textarea, text) {
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? textarea.value.length;
    textarea.setRangeText(text, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  // ---------- message actions ----------
  const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
  const messageOf = (el) => el.closest("li[data-message-id]");
  function messageText(li) {
    const content = li.querySelector(":scope > .bubble > .content");
    if (content && content.textContent.trim()) return content.textContent;
    const att = li.querySelector(".attachment .file-name, .attachment-card .card-line");
    if (att) return att.textContent;
    if (li.querySelector(".attachment.image")) return "📷 Photo";
    if (li.querySelector("audio.attachment")) return "🎤 Audio";
    if (li.querySelector("video.attachment")) return "🎬 Video";
    return "Message";
  }

  function startReply(li) {
    const composer = $("composer");
    const bar = $("composer-reply");
    if (!composer || !bar) return;
    const note = document.querySelector('input[name="mode"][value="reply"]');
    if (note && !note.checked) { note.checked = true; note.dispatchEvent(new Event("change", { bubbles: true })); }
    composer.dataset.inReplyTo = li.dataset.messageId;
    $("composer-reply-text").textContent = messageText(li);
    bar.hidden = false;
    $("composer-text").focus();
  }
  function cancelReply() {
    const composer = $("composer");
    if (composer) delete composer.dataset.inReplyTo;
    const bar = $("composer-reply");
    if (bar) bar.hidden = true;
  }

  async function react(li, emoji) {
    const mine = li.dataset.myReaction || "";
    const value = emoji === mine ? "" : emoji;
    try {
      await api("POST", `/conversations/${displayId()}/messages`, {
        content: value,
        content_attributes: { in_reply_to: Number(li.dataset.messageId), is_reaction: true },
      });
      li.dataset.myReaction = value;
      announce(value ? `Reacted ${value}` : "Reaction removed");
    } catch (err) {
      announce(err.message);
    }
  }

  function reactionMenu(li, anchor) {
    const menu = document.createElement("div");
    menu.className = "react-menu";
    menu.setAttribute("role", "group");
    menu.setAttribute("aria-label", "React");
    QUICK_REACTIONS.forEach((emoji) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "emoji-cell";
      b.textContent = emoji;
      const chosen = li.dataset.myReaction === emoji;
      b.setAttribute("aria-pressed", chosen ? "true" : "false");
      b.setAttribute("aria-label", chosen ? `Remove your ${emoji} reaction` : `React ${emoji}`);
      b.addEventListener("click", () => { closePopover(true); react(li, emoji); });
      menu.append(b);
    });
    const more = document.createElement("button");
    more.type = "button";
    more.className = "emoji-more";
    more.textContent = "More…";
    more.setAttribute("aria-label", "More emoji");
    more.addEventListener("click", () => openEmojiPicker(anchor, (emoji) => react(li, emoji)));
    menu.append(more);
    openPopover(anchor, menu);
    menu.querySelector("button").focus();
  }

  async function copyText(li) {
    const content = li.querySelector(":scope > .bubble > .content");
    const text = content ? content.textContent : "";
    try {
      await navigator.clipboard.writeText(text);
      announce("Copied to the clipboard");
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents(content);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      announce("Selected: press Ctrl+C to copy");
    }
  }

  async function refreshMessage(id) {
    try {
      const resp = await fetch(`/app/accounts/${accountId}/partials/messages/${id}`, { credentials: "same-origin" });
      if (!resp.ok) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = await resp.text(); // server-rendered, escaped by askama
      const li = tpl.content.querySelector("li");
      const old = $(`m-${id}`);
      if (li && old) old.replaceWith(li);
    } catch (_) { /* the live stream brings it */ }
  }

  async function retry(li, button) {
    button.disabled = true;
    try {
      await api("POST", `/conversations/${displayId()}/messages/${li.dataset.messageId}/retry`);
      announce("Sending again…");
      await refreshMessage(li.dataset.messageId);
    } catch (err) {
      button.disabled = false;
      announce(err.message);
    }
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-msg-action]");
    if (button) {
      const li = messageOf(button);
      if (!li) return;
      const action = button.dataset.msgAction;
      if (action === "reply") startReply(li);
      else if (action === "react") reactionMenu(li, button);
      else if (action === "copy") copyText(li);
      else if (action === "retry") retry(li, button);
      return;
    }
    const quote = e.target.closest("blockquote[data-quote-of]");
    if (quote) {
      const target = $(`m-${quote.dataset.quoteOf}`);
      if (target) { target.scrollIntoView({ block: "center" }); target.classList.add("flash"); setTimeout(() => target.classList.remove("flash"), 1200); }
      return;
    }
    // Touch screens have no hover: a tap on a bubble shows its actions.
    const bubble = e.target.closest("#messages .bubble");
    if (bubble && window.matchMedia("(hover: none)").matches && !e.target.closest("a, button, audio, video")) {
      const li = messageOf(bubble);
      document.querySelectorAll("#messages li.actions-open").forEach((x) => { if (x !== li) x.classList.remove("actions-open"); });
      if (li) li.classList.toggle("actions-open");
    }
    if (e.target.closest("#composer-reply-cancel")) { cancelReply(); $("composer-text").focus(); return; }
    const emojiButton = e.target.closest("#composer-emoji");
    if (emojiButton) {
      if (popoverAnchor === emojiButton) { closePopover(true); return; }
      openEmojiPicker(emojiButton, (emoji) => insertAtCaret($("composer-text"), emoji));
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.id === "composer-text" && e.key === "Escape" && $("composer") && $("composer").dataset.inReplyTo) {
      cancelReply();
    }
  });

  // ---------- drafts ----------
  const draftKey = (id) => `switchboard:draft:${accountId}:${id}`;
  let restoredFor = null;
  function restoreDraft() {
    const text = $("composer-text");
    const id = displayId();
    if (!text || !id || restoredFor === id) return;
    restoredFor = id;
    cancelReply();
    resetFiles();
    let saved = null;
    try { saved = localStorage.getItem(draftKey(id)); } catch (_) { saved = null; }
    if (saved && !text.value) text.value = saved;
  }
  document.addEventListener("input", (e) => {
    if (e.target.id !== "composer-text") return;
    const id = displayId();
    if (!id) return;
    try {
      if (e.target.value) localStorage.setItem(draftKey(id), e.target.value);
      else localStorage.removeItem(draftKey(id));
    } catch (_) { /* storage full or disabled: the draft is not kept */ }
  });
  document.addEventListener("composer:sent", () => {
    try { localStorage.removeItem(draftKey(displayId())); } catch (_) { /* ignore */ }
    cancelReply();
    resetFiles();
  });

  // ---------- attachments ----------
  let files = [];
  function formatSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }
  function syncFiles() {
    const input = $("composer-file");
    const list = $("composer-files");
    if (!input || !list) return;
    try {
      const dt = new DataTransfer();
      files.forEach((f) => dt.items.add(f));
      input.files = dt.files;
    } catch (_) { /* very old browsers: the input keeps what the dialog chose */ }
    list.replaceChildren();
    files.forEach((f, i) => {
      const li = document.createElement("li");
      li.className = "file-chip";
      const name = document.createElement("span");
      name.className = "file-chip-name";
      name.dir = "auto";
      name.textContent = f.name || "pasted file";
      const size = document.createElement("span");
      size.className = "muted small";
      size.textContent = formatSize(f.size);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "file-chip-remove";
      remove.textContent = "✕";
      remove.setAttribute("aria-label", `Remove ${f.name || "file"}`);
      remove.addEventListener("click", () => {
        files.splice(i, 1);
        syncFiles();
        announce(`${f.name || "File"} removed`);
        $("composer-text").focus();
      });
      li.append(name, size, remove);
      list.append(li);
    });
    const label = $("composer-file-name");
    if (label) label.textContent = files.length ? `${files.length} file${files.length > 1 ? "s" : ""} attached` : "";
  }
  function addFiles(list) {
    const added = Array.from(list || []).filter((f) => f && f.size > 0);
    if (!added.length) return;
    files = files.concat(added);
    syncFiles();
  }
  function resetFiles() {
    files = [];
    syncFiles();
  }
  document.addEventListener("change", (e) => {
    if (e.target.id !== "composer-file") return;
    // The dialog replaced the input's files: keep the earlier choices too.
    const chosen = Array.from(e.target.files);
    files = files.concat(chosen.filter((f) => !files.includes(f)));
    syncFiles();
  });
  document.addEventListener("composer:attach", (e) => addFiles(e.detail && e.detail.files));
  document.addEventListener("paste", (e) => {
    if (e.target.id !== "composer-text" || !e.clipboardData) return;
    const pasted = Array.from(e.clipboardData.files || []);
    if (!pasted.length) return;
    e.preventDefault();
    addFiles(pasted);
  });
  const carriesFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  document.addEventListener("dragover", (e) => {
    const t = e.target.closest && e.target.closest("#thread");
    if (!t || !carriesFiles(e)) return;
    e.preventDefault();
    t.classList.add("drop-target");
  });
  document.addEventListener("dragleave", (e) => {
    const t = $("thread");
    if (t && (!e.relatedTarget || !t.contains(e.relatedTarget))) t.classList.remove("drop-target");
  });
  document.addEventListener("drop", (e) => {
    const t = e.target.closest && e.target.closest("#thread");
    if (!t || !carriesFiles(e)) return;
    e.preventDefault();
    t.classList.remove("drop-target");
    addFiles(e.dataTransfer.files);
  });

  // ---------- start, and again whenever another thread is swapped in ----------
  function start() {
    watchList();
    restoreDraft();
  }
  start();
  new MutationObserver(() => {
    if ($("messages") !== watchList.list || displayId() !== restoredFor) start();
  }).observe(body, { childList: true, subtree: true });
})();
