// The Contacts list's custom attribute filter (h11): the operators and the value input fit
// the chosen attribute's type (a date picker for dates, numbers for numbers, the choices of
// a list, true/false for a checkbox); "is set" / "is not set" take no value. The form is a
// plain GET form: the URL keeps the filter, and without this script every operator shows.
(() => {
  const box = document.querySelector('[data-attr-filter]');
  if (!box) return;
  const attr = document.getElementById('contacts-attr');
  const op = document.getElementById('contacts-attr-op');
  const value = document.getElementById('contacts-attr-value');
  const valueLabel = document.getElementById('contacts-attr-value-label');
  const list = document.getElementById('contacts-attr-values');
  const TEXT = ['equal_to', 'not_equal_to', 'contains', 'does_not_contain', 'is_present', 'is_not_present'];
  const ORDERED = ['equal_to', 'not_equal_to', 'is_greater_than', 'is_less_than', 'is_present', 'is_not_present'];
  const OPS = {
    text: TEXT,
    link: TEXT,
    list: ['equal_to', 'not_equal_to', 'is_present', 'is_not_present'],
    checkbox: ['equal_to', 'not_equal_to'],
    number: ORDERED,
    date: ORDERED,
  };
  const sync = () => {
    const chosen = attr.selectedOptions[0];
    const kind = (chosen && chosen.dataset.kind) || '';
    const allowed = OPS[kind] || TEXT;
    for (const o of op.options) {
      const ok = allowed.includes(o.value);
      o.hidden = !ok;
      o.disabled = !ok;
    }
    if (op.selectedOptions[0] && op.selectedOptions[0].disabled) op.value = allowed[0];
    value.type = kind === 'number' ? 'number' : kind === 'date' ? 'date' : 'text';
    if (kind === 'number') value.step = 'any';
    const choices = kind === 'checkbox' ? ['true', 'false']
      : kind === 'list' ? (chosen.dataset.values || '').split('|').filter(Boolean) : [];
    list.replaceChildren(...choices.map((c) => Object.assign(document.createElement('option'), { value: c })));
    const none = !attr.value;
    op.disabled = none;
    const noValue = none || op.value === 'is_present' || op.value === 'is_not_present';
    valueLabel.hidden = noValue;
    value.disabled = noValue;
  };
  attr.addEventListener('change', sync);
  op.addEventListener('change', sync);
  sync();
})();
