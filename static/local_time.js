// One way to show times in the workspace (polish10): every `<time datetime="ISO">` the
// server renders (with a readable UTC fallback text) is shown in the viewer's own time zone
// and locale through Intl.DateTimeFormat, including elements that arrive later through live
// updates (a MutationObserver formats them as they are inserted).
//
// `data-time` on the element picks the style; the hour cycle (12/24-hour) and the time zone
// are always the viewer's:
//   (none)     date and time: "Dec 1, 2:05 PM" (the year when it is not this year)
//   "time"     time of day only: "2:05 PM" (message bubbles, under the day separators)
//   "relative" the server's relative text ("3h") stays; only the tooltip is localised
// Every formatted element gets the full date and time as its tooltip.
// Other modules call `window.switchboardTime.text(date, style)` for times they show elsewhere
// (snooze hints), so they read the same.
"use strict";

(function () {
  const FORMATS = {
    time: new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }),
    datetime: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }),
    datetimeYear: new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }),
    weekday: new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "numeric", minute: "2-digit" }),
    full: new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" }),
  };

  /** `d` (a Date) as text in the style `style` ("time", "weekday", "full" or date and time). */
  function text(d, style) {
    if (style === "time" || style === "weekday" || style === "full") return FORMATS[style].format(d);
    return (d.getFullYear() === new Date().getFullYear() ? FORMATS.datetime : FORMATS.datetimeYear).format(d);
  }

  /** Formats one `<time datetime>` element; leaves it alone when its datetime is not a date. */
  function format(el) {
    const iso = el.getAttribute("datetime");
    if (!iso) return;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return;
    const style = el.dataset.time || "";
    const shown = style === "relative" ? el.textContent : text(d, style);
    if (el.textContent !== shown) el.textContent = shown;
    const title = FORMATS.full.format(d);
    if (el.title !== title) el.title = title;
    el.dataset.localised = "true";
  }

  /** Formats every `<time datetime>` in `root` (default: the document), `root` included. */
  function formatAll(root) {
    const r = root || document;
    if (r.nodeType === 1 && r.matches("time[datetime]")) format(r);
    if (r.querySelectorAll) r.querySelectorAll("time[datetime]").forEach(format);
  }

  window.switchboardTime = { text, format, formatAll };

  formatAll(document);
  new MutationObserver((records) => {
    records.forEach((rec) => rec.addedNodes.forEach((n) => { if (n.nodeType === 1) formatAll(n); }));
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
