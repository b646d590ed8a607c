// Uploads with progress, several files at once, and drag-and-drop. Each file is sent
// straight to the API (PUT /artefacts/DIR/NAME, raw bytes) with XMLHttpRequest, whose
// upload events drive a progress bar per file. DIR may be nested (org/app/1.2.0): it
// is sent segment by segment, each escaped on its own. Without this script the form
// posts to the console, which streams the files to the same API.
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

// directoryOf is the form's directory as its segments: slashes around it are let
// pass; null when a segment is empty (a//b).
function directoryOf(form) {
  const field = form.querySelector('[name="dir"]');
  const dir = field ? field.value.trim().replace(/^\/+|\/+$/g, '') : '';
  if (!dir) return [];
  const segments = dir.split('/');
  return segments.includes('') ? null : segments;
}

// segment escapes one path segment. . and .. are escaped too: as they are, the URL
// would resolve them away and name another path; escaped, the API refuses them with
// the rule they break.
export function segment(name) {
  return name === '.' || name === '..' ? name.replaceAll('.', '%2E') : encodeURIComponent(name);
}

async function send(form, files, list) {
  const dir = directoryOf(form);
  if (dir === null || dir.length === 0) {
    form.querySelector('[name="dir"]')?.focus();
    say(list, dir === null ? 'A directory path has no empty segment: org/app/1.2.0.' : 'Name the directory first.');
    return;
  }
  if (files.length === 0) {
    say(list, 'Choose at least one file.');
    return;
  }
  list.replaceChildren();
  const results = await Promise.all(files.map((file) => putFile(form.dataset.upload, dir, file, row(list, file))));
  if (results.every(Boolean)) {
    window.location.assign(`/ui/a/${dir.map(segment).join('/')}/`);
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
    xhr.open('PUT', `${api}/${dir.map(segment).join('/')}/${segment(file.name)}`);
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
