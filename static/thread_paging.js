// Switchboard agent UI: "Load earlier messages" in an open thread. Clicking the control, or
// scrolling the thread back to its top, inserts the previous page (server-rendered, escaped
// bubbles) above the oldest message shown, keeping the reader's place. Pages follow the
// thread's (created_at, id) order, so imported history is neither skipped nor repeated.
"use strict";

(function () {
  const accountId = document.body.dataset.accountId;
  if (!accountId) return;
  let loading = false;

  async function loadEarlier(control) {
    const list = document.getElementById("messages");
    const thread = document.getElementById("thread");
    const button = control.querySelector("[data-earlier]");
    if (loading || !list || !thread || !button) return;
    loading = true;
    button.disabled = true;
    button.textContent = "Loading…";
    try {
      const url = `/app/accounts/${accountId}/partials/conversations/${thread.dataset.displayId}/messages?before=${encodeURIComponent(button.dataset.earlier)}`;
      const resp = await fetch(url, { credentials: "same-origin" });
      if (!resp.ok) throw new Error(`The server answered ${resp.status}`);
      const tpl = document.createElement("template");
      tpl.innerHTML = await resp.text(); // server-rendered, escaped by askama
      const fromBottom = list.scrollHeight - list.scrollTop;
      // A message that arrived live meanwhile is kept once: the copy already shown stays.
      tpl.content.querySelectorAll("li[id^='m-']").forEach((li) => {
        if (document.getElementById(li.id)) li.remove();
      });
      control.replaceWith(tpl.content);
      list.scrollTop = list.scrollHeight - fromBottom;
      watch();
    } catch (err) {
      button.disabled = false;
      button.textContent = `Load earlier messages (${err.message})`;
    } finally {
      loading = false;
    }
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-earlier]");
    if (!button) return;
    e.preventDefault();
    loadEarlier(button.closest(".load-earlier"));
  });

  // Scrolling back to the top of the thread loads the earlier page by itself.
  let observer = null;
  function watch() {
    const list = document.getElementById("messages");
    const control = document.getElementById("load-earlier");
    if (!list || !control || !window.IntersectionObserver) return;
    if (observer) observer.disconnect();
    observer = new IntersectionObserver((entries) => {
      // Only once the reader has scrolled: the first screen opens at the newest message.
      if (list.dataset.scrolled && entries.some((x) => x.isIntersecting)) {
        loadEarlier(control);
      }
    }, { root: list });
    observer.observe(control);
  }
  // A message that arrives live is appended at the bottom; one whose time is older (imported
  // history, a late delivery) moves to its place in (created_at, id) order, or, when it
  // belongs before the oldest message shown while earlier ones are not loaded yet, leaves
  // the screen: the earlier page brings it.
  const key = (li) => {
    const time = li.querySelector("time[datetime]");
    return [time ? Date.parse(time.getAttribute("datetime")) : 0, Number(li.dataset.messageId)];
  };
  const before = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  function place(li) {
    const list = li.parentElement;
    if (!list || !li.dataset.messageId) return;
    const prev = li.previousElementSibling;
    const next = li.nextElementSibling;
    const mine = key(li);
    const prevOk = !prev || !prev.dataset.messageId || !before(mine, key(prev));
    const nextOk = !next || !next.dataset.messageId || before(mine, key(next));
    if (prevOk && nextOk) return;
    const shown = [...list.querySelectorAll(":scope > li[data-message-id]")].filter((x) => x !== li);
    const after = shown.filter((x) => before(key(x), mine)).pop();
    if (after) { after.after(li); return; }
    if (document.getElementById("load-earlier")) { li.remove(); return; }
    if (shown.length) shown[0].before(li);
  }
  function watchArrivals() {
    const list = document.getElementById("messages");
    if (!list || !window.MutationObserver) return;
    new MutationObserver((records) => {
      records.forEach((r) => r.addedNodes.forEach((n) => { if (n.nodeType === 1 && n.matches("li[data-message-id]")) place(n); }));
    }).observe(list, { childList: true });
  }
  watchArrivals();

  document.addEventListener("scroll", (e) => {
    if (e.target && e.target.id === "messages") e.target.dataset.scrolled = "1";
  }, true);
  watch();
})();
