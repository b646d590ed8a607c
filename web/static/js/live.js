// Live updates. With the API's event streams (DESIGN §12, data-events on the page),
// a noun's panel and a list's "N new records" follow them over EventSource. Until the
// API serves them, a noun's panel polls its state (GET with If-None-Match, so an
// unchanged state costs a 304) while the page is visible.
import { apiFetch } from './api.js';

const POLL_MS = 1500;

export function liveNouns(root) {
  for (const panel of root.querySelectorAll('[data-noun]')) {
    const show = (state) => {
      for (const dd of panel.querySelectorAll('dd[data-field]')) {
        const v = state[dd.dataset.field];
        dd.textContent = v === null || v === undefined ? '—' : String(v);
      }
    };
    if (panel.dataset.events && 'EventSource' in window) {
      const es = new EventSource(panel.dataset.events);
      for (const kind of ['updated', 'created', 'deleted']) {
        es.addEventListener(kind, (event) => show(unwrap(JSON.parse(event.data))));
      }
      continue;
    }
    let etag = panel.dataset.etag || '';
    const poll = async () => {
      if (document.visibilityState === 'visible') {
        try {
          const resp = await apiFetch(panel.dataset.noun, { headers: etag ? { 'If-None-Match': etag } : {} });
          if (resp.status === 200) {
            etag = resp.headers.get('ETag') || '';
            show(unwrap(await resp.json()));
          }
        } catch { /* offline for a moment: the next poll tries again */ }
      }
      setTimeout(poll, POLL_MS);
    };
    setTimeout(poll, POLL_MS);
  }
}

// A list with data-events counts the records created since the page was shown.
export function liveLists(root) {
  for (const note of root.querySelectorAll('p.live[data-events]')) {
    if (!('EventSource' in window)) continue;
    const es = new EventSource(note.dataset.events);
    let fresh = 0;
    es.addEventListener('created', () => {
      fresh += 1;
      const link = note.querySelector('[data-live-reload]');
      link.textContent = `${fresh} new record${fresh === 1 ? '' : 's'}: show them`;
      link.href = window.location.href;
      note.hidden = false;
    });
  }
}

// unwrap reads the status envelope ({"status":"ok","result":…}) of an API that uses it.
function unwrap(body) {
  return body && body.status === 'ok' && 'result' in body ? body.result : body;
}
