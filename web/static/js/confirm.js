// Confirm dialogs: a form with data-confirm asks in the page's <dialog> before it is
// sent, and then says confirm=yes. Without this script the server asks on a page of
// its own, so a destructive form is never sent unconfirmed.
export function confirmForms(root) {
  const dialog = root.getElementById('confirm');
  if (!dialog || typeof dialog.showModal !== 'function') return;
  for (const form of root.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (event) => {
      if (form.querySelector('input[name="confirm"]')) return; // already confirmed
      event.preventDefault();
      const opener = event.submitter || document.activeElement;
      dialog.querySelector('#confirm-text').textContent = form.dataset.confirm;
      const ok = dialog.querySelector('button[value="ok"]');
      ok.textContent = form.querySelector('button[type="submit"]')?.textContent.trim() || 'OK';
      dialog.returnValue = '';
      dialog.addEventListener('close', () => {
        if (dialog.returnValue === 'ok') {
          const yes = document.createElement('input');
          yes.type = 'hidden';
          yes.name = 'confirm';
          yes.value = 'yes';
          form.append(yes);
          form.requestSubmit();
        } else if (opener && opener.focus) {
          opener.focus();
        }
      }, { once: true });
      dialog.showModal();
      dialog.querySelector('button[value="cancel"]').focus();
    });
  }
}
