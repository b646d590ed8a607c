// Uploads with progress, several files at once, and drag-and-drop. Each file is sent
// straight to the API (PUT /artefacts/DIR/NAME, raw bytes) with XMLHttpRequest, whose
// upload events drive a progress bar per file. Without this script the form posts
// to the console, which streams the files to the same API.
//
// Extension point (DESIGN §14, tus resumable uploads): when the form carries
// data-uploads (the server's /_uploads), files above RESUMABLE_FROM should go there
// instead: POST with Tus-Resumable: 1.0.0, Upload-Length and Upload-Metadata
// "path <base64 DIR/NAME>", then PATCH chunks (Upload-Offset, Content-Type
// application/offset+octet-stream), and after a failure HEAD for the offset and
// resume. Until the API serves it, every file goes by PUT.
import { csrfToken } from './api.js';

export const RESUMABLE_FROM = 8 * 1024 * 1024;

export function uploadForms(root) {
  for (const form of root.querySelectorAll('form[data-upload]')) {
    const input = form.querySelector('input[type="file"]');
    const list = form.querySelector('[data-progress]');
    const drop = form.querySelector('[data-drop]');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      send(form, Array.from(input.files), list);
    });
    if (!drop) continue;
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('over');
      send(form, Array.from(event.dataTransfer.files), list);
    });
  }
}

function directoryOf(form) {
  const field = form.querySelector('[name="dir"]');
  return field ? field.value.trim() : '';
}

async function send(form, files, list) {
  const dir = directoryOf(form);
  if (!dir) {
    form.querySelector('[name="dir"]')?.focus();
    say(list, 'Name the directory first.');
    return;
  }
  if (files.length === 0) {
    say(list, 'Choose at least one file.');
    return;
  }
  list.replaceChildren();
  const results = await Promise.all(files.map((file) => putFile(form.dataset.upload, dir, file, row(list, file))));
  if (results.every(Boolean)) {
    window.location.assign(`/ui/a/${encodeURIComponent(dir)}/`);
  }
}

function say(list, text) {
  const li = document.createElement('li');
  li.textContent = text;
  list.replaceChildren(li);
}

function row(list, file) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.textContent = file.name;
  const bar = document.createElement('progress');
  bar.max = file.size || 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Upload of ${file.name}`);
  const pct = document.createElement('span');
  pct.textContent = '0%';
  li.append(name, bar, pct);
  list.append(li);
  return { bar, pct, li };
}

function putFile(api, dir, file, ui) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${api}/${encodeURIComponent(dir)}/${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    if (csrfToken()) xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      ui.li.dataset.sent = String(event.loaded); // what the last progress event said
      ui.bar.value = event.loaded;
      ui.pct.textContent = `${Math.floor((event.loaded / event.total) * 100)}%`;
    });
    xhr.addEventListener('load', () => {
      const ok = xhr.status >= 200 && xhr.status < 300;
      ui.bar.value = ui.bar.max;
      ui.pct.textContent = ok ? 'done' : `failed`;
      ui.li.dataset.status = String(xhr.status);
      if (!ok) {
        let detail = xhr.statusText;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* not JSON */ }
        const why = document.createElement('span');
        why.className = 'error';
        why.textContent = detail;
        ui.li.append(why);
      }
      resolve(ok);
    });
    xhr.addEventListener('error', () => {
      ui.pct.textContent = 'failed';
      resolve(false);
    });
    xhr.send(file);
  });
}
