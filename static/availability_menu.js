// The availability menu on the avatar in the navigation rail (issue 13): the avatar (`.me`)
// opens a menu to be online, busy or offline in this account (POST
// /api/v1/profile/availability with the session's CSRF token); "Profile settings" keeps the
// link's old destination. Every avatar of the agent follows through the `presence.update`
// event (static/profile.js); the menu marks the current choice from the rail's own dot.
// Keyboard: Enter/Space opens, ↑/↓ move, Esc or Tab closes and returns focus.
"use strict";
(function () {
  const me = document.querySelector(".topnav .me");
  const menu = document.getElementById("availability-menu");
  if (!me || !menu) return;
  const accountId = document.body.dataset.accountId;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const items = () => [...menu.querySelectorAll('[role^="menuitem"]')];

  me.setAttribute("role", "button");
  me.setAttribute("aria-haspopup", "menu");
  me.setAttribute("aria-expanded", "false");
  me.setAttribute("aria-controls", "availability-menu");

  function current() {
    const dot = me.querySelector(".presence");
    return dot ? dot.dataset.presence : "";
  }

  function place() {
    const r = me.getBoundingClientRect();
    const phone = window.matchMedia("(max-width: 760px)").matches;
    menu.classList.toggle("availability-menu-below", phone);
    if (phone) {
      menu.style.left = `${Math.max(8, r.left)}px`;
      menu.style.top = `${r.bottom + 4}px`;
      menu.style.bottom = "";
    } else {
      menu.style.left = `${r.right + 8}px`;
      menu.style.top = "";
      menu.style.bottom = `${Math.max(8, window.innerHeight - r.bottom)}px`;
    }
  }

  function open(focusFirst) {
    const now = current();
    menu.querySelectorAll("[data-availability]").forEach((b) => {
      b.setAttribute("aria-checked", String(b.dataset.availability === now));
    });
    menu.hidden = false;
    me.setAttribute("aria-expanded", "true");
    place();
    if (focusFirst) {
      const checked = menu.querySelector('[aria-checked="true"]') || items()[0];
      checked.focus();
    }
  }

  function close(returnFocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    me.setAttribute("aria-expanded", "false");
    if (returnFocus) me.focus();
  }

  me.addEventListener("click", (e) => {
    e.preventDefault();
    if (menu.hidden) open(e.detail === 0); else close(false);
  });
  me.addEventListener("keydown", (e) => {
    if (e.key === " " || e.key === "ArrowDown") { e.preventDefault(); open(true); }
  });

  menu.addEventListener("keydown", (e) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    if (e.key === "ArrowDown") { e.preventDefault(); list[(at + 1) % list.length].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); list[(at - 1 + list.length) % list.length].focus(); }
    else if (e.key === "Home") { e.preventDefault(); list[0].focus(); }
    else if (e.key === "End") { e.preventDefault(); list[list.length - 1].focus(); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(true); }
    else if (e.key === "Tab") { close(false); }
  });

  document.addEventListener("click", (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !me.contains(e.target)) close(false);
  });
  window.addEventListener("resize", () => { if (!menu.hidden) place(); });

  menu.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-availability]");
    if (!button) return;
    const availability = button.dataset.availability;
    close(true);
    try {
      const resp = await fetch("/api/v1/profile/availability", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ profile: { availability, account_id: Number(accountId) } }),
      });
      if (!resp.ok) throw new Error(String(resp.status));
      // Our own dots at once; the SSE event repeats it for every open page.
      const userId = document.body.dataset.userId;
      document.dispatchEvent(new CustomEvent("switchboard:presence", {
        detail: JSON.stringify({ user_id: Number(userId), availability }),
      }));
    } catch (_) {
      const region = document.getElementById("toasts");
      if (region) {
        const t = document.createElement("div");
        t.className = "toast error";
        t.textContent = "Your availability could not be saved. Try again.";
        region.appendChild(t);
        setTimeout(() => t.remove(), 6000);
      }
    }
  });
})();
