// Switchboard's emoji picker: an ES module that static/composer.js loads with import() the
// first time a picker opens. The emoji list comes from the npm package
// emoji-picker-element-data (emojibase, English), served by the app at one fixed URL and
// fetched once, also lazily. Works offline: nothing comes from a CDN. The picker is plain
// DOM built with textContent (strict CSP: no inline styles or scripts).

const DATA_URL = "/static/vendor/emoji-data.json";
// emojibase groups (2, "component", holds bare skin tones and is left out).
const GROUPS = [
  [0, "Smileys & emotion", "😀"],
  [1, "People & body", "👋"],
  [3, "Animals & nature", "🐻"],
  [4, "Food & drink", "🍎"],
  [5, "Travel & places", "✈️"],
  [6, "Activities", "⚽"],
  [7, "Objects", "💡"],
  [8, "Symbols", "❤️"],
  [9, "Flags", "🏁"],
];
const COLUMNS = 8;
const MAX_RESULTS = 160;

let dataPromise = null;
/** The emoji list (array of {emoji, annotation, group, order, tags, shortcodes}), sorted. */
function loadData() {
  if (!dataPromise) {
    dataPromise = fetch(DATA_URL, { credentials: "same-origin" })
      .then((resp) => {
        if (!resp.ok) throw new Error(`the server answered ${resp.status}`);
        return resp.json();
      })
      .then((list) => list
        .filter((e) => e && e.emoji && e.group !== 2 && e.group !== undefined)
        .sort((a, b) => (a.order || 0) - (b.order || 0)))
      .catch((err) => { dataPromise = null; throw err; });
  }
  return dataPromise;
}

function matches(e, words) {
  const hay = [e.annotation || "", ...(e.tags || []), ...(e.shortcodes || [])].join(" ").toLowerCase();
  return words.every((w) => hay.includes(w));
}

/**
 * Builds a picker. `onPick(emoji)` runs when an emoji is chosen (click, Enter or Space).
 * Returns {element, ready (a promise settled once the data is shown), focus()}.
 */
export function createPicker(onPick) {
  const root = document.createElement("div");
  root.className = "emoji-picker";

  const label = document.createElement("label");
  label.className = "visually-hidden";
  label.htmlFor = "emoji-search";
  label.textContent = "Search emoji";
  const search = document.createElement("input");
  search.type = "search";
  search.id = "emoji-search";
  search.placeholder = "Search emoji";
  search.autocomplete = "off";

  const tabs = document.createElement("div");
  tabs.className = "emoji-tabs";
  tabs.setAttribute("role", "group");
  tabs.setAttribute("aria-label", "Categories");

  const heading = document.createElement("p");
  heading.className = "emoji-heading muted small";
  heading.id = "emoji-heading";
  heading.setAttribute("aria-live", "polite");

  const grid = document.createElement("div");
  grid.className = "emoji-grid";
  grid.setAttribute("role", "group");
  grid.setAttribute("aria-labelledby", "emoji-heading");

  root.append(label, search, tabs, heading, grid);

  let data = [];
  let group = 0;

  function cell(e) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "emoji-cell";
    b.textContent = e.emoji;
    b.title = e.annotation || "";
    b.setAttribute("aria-label", e.annotation || e.emoji);
    b.dataset.emoji = e.emoji;
    return b;
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    let shown;
    if (q) {
      const words = q.split(/\s+/);
      shown = data.filter((e) => matches(e, words)).slice(0, MAX_RESULTS);
      heading.textContent = shown.length ? `Results for “${search.value.trim()}”` : "No emoji found";
    } else {
      shown = data.filter((e) => e.group === group);
      heading.textContent = (GROUPS.find((g) => g[0] === group) || [0, ""])[1];
    }
    tabs.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(!q && Number(b.dataset.group) === group)));
    const frag = document.createDocumentFragment();
    shown.forEach((e) => frag.append(cell(e)));
    grid.replaceChildren(frag);
    grid.scrollTop = 0;
  }

  GROUPS.forEach(([id, name, icon]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "emoji-tab";
    b.dataset.group = String(id);
    b.textContent = icon;
    b.title = name;
    b.setAttribute("aria-label", name);
    b.addEventListener("click", () => { group = id; search.value = ""; render(); });
    tabs.append(b);
  });

  search.addEventListener("input", render);
  search.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || (e.key === "Enter" && grid.firstElementChild)) {
      e.preventDefault();
      const first = grid.querySelector(".emoji-cell");
      if (!first) return;
      if (e.key === "Enter") onPick(first.dataset.emoji);
      else first.focus();
    }
  });
  grid.addEventListener("click", (e) => {
    const b = e.target.closest(".emoji-cell");
    if (b) onPick(b.dataset.emoji);
  });
  grid.addEventListener("keydown", (e) => {
    const cells = Array.from(grid.querySelectorAll(".emoji-cell"));
    const i = cells.indexOf(document.activeElement);
    if (i < 0) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -COLUMNS, ArrowDown: COLUMNS }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const next = i + step;
    if (next < 0) { search.focus(); return; }
    if (cells[Math.min(next, cells.length - 1)]) cells[Math.min(next, cells.length - 1)].focus();
  });

  heading.textContent = "Loading emoji…";
  const ready = loadData().then((list) => { data = list; render(); }, (err) => {
    heading.textContent = `The emoji could not be loaded: ${err.message}`;
  });

  return { element: root, ready, focus: () => search.focus() };
}
