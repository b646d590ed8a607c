// Repeatable inputs (array fields): "Add item" adds one more input of the same name.
export function repeatInputs(root) {
  for (const group of root.querySelectorAll('[data-repeat]')) {
    const add = group.querySelector('[data-repeat-add]');
    add?.addEventListener('click', () => {
      const inputs = group.querySelectorAll('input');
      const last = inputs[inputs.length - 1];
      const next = last.cloneNode();
      next.value = '';
      next.id = `${last.name}-${inputs.length}`;
      next.setAttribute('aria-label', `${last.name} item ${inputs.length + 1}`);
      group.insertBefore(next, add);
      next.focus();
    });
  }
}
