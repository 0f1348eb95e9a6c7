// /track/{order_id}: the customer's live view of one order (issue 19). The order's merged
// timeline, its status as progress through the milestones, the ETA and any delay, kept live over
// GET /v1/ws (topic order:{id}) and resumed with last_seq after a dropped connection.

import { h, render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import htm from 'htm';

import { formatTime, keepLocale, locales, pickLocale, textsOf } from './i18n.js';
import { follow } from './live.js';
import { api, forgetToken, takeToken, tokenExpiry } from './session.js';
import './base.css';
import './track.css';

const html = htm.bind(h);

// Where each status stands on the way to the customer (0: not confirmed yet).
const milestoneOf = {
  pending_payment: 0, paid: 0, confirmed: 1, in_production: 2, produced: 3, shipped: 4,
  out_for_delivery: 5, delivery_failed: 5, delivered: 6,
};
const stoppedStatuses = new Set(['cancelled', 'returned', 'refunded']);

const orderId = decodeURIComponent(location.pathname.split('/')[2] || '');
const storageKey = `mercato.track.${orderId}`;
const token = takeToken(storageKey);

const keyOf = (e) => `${e.source}:${e.external_id}`;

function mergeEntries(map, entries) {
  let changed = false;
  for (const e of entries) {
    const k = keyOf(e);
    if (!map.has(k)) {
      map.set(k, e);
      changed = true;
    }
  }
  return changed;
}

function LanguageSwitch({ locale, setLocale, t }) {
  return html`<div class="lang" role="group" aria-label=${t.language}>
    ${locales.map(
      (l) => html`<button type="button" lang=${l} aria-pressed=${l === locale ? 'true' : 'false'}
        onClick=${() => setLocale(l)}>${l.toUpperCase()}</button>`,
    )}
  </div>`;
}

function Progress({ status, t }) {
  const reached = milestoneOf[status] ?? 0;
  const stopped = stoppedStatuses.has(status);
  const statusText = t.statuses[status] || status;
  return html`<section class="progress" aria-labelledby="progress-h">
    <h2 id="progress-h" class="visually-hidden">${t.progress}</h2>
    <div class=${`bar${stopped ? ' stopped' : ''}`} role="progressbar" aria-valuemin="0"
      aria-valuemax=${t.milestones.length} aria-valuenow=${stopped ? 0 : reached}
      aria-valuetext=${statusText}>
      <div class="fill" style=${{ width: `${stopped ? 0 : (reached / t.milestones.length) * 100}%` }}></div>
    </div>
    <ol class="steps">
      ${t.milestones.map((name, i) => {
        const state = stopped ? 'todo' : i + 1 < reached ? 'done' : i + 1 === reached ? 'current' : 'todo';
        return html`<li class=${state} aria-current=${state === 'current' ? 'step' : undefined}>${name}</li>`;
      })}
    </ol>
  </section>`;
}

function Timeline({ entries, order, locale, t }) {
  const items = [...entries].sort((a, b) => (a.occurred_at < b.occurred_at ? 1 : a.occurred_at > b.occurred_at ? -1 : b.seq - a.seq));
  return html`<section class="timeline" aria-labelledby="timeline-h">
    <h2 id="timeline-h">${t.timeline}</h2>
    <ol id="timeline">
      ${items.map(
        (e) => html`<li key=${keyOf(e)} data-key=${keyOf(e)} data-type=${e.type}
          class=${e.type === 'delay_warning' ? 'warn' : ''}>
          <time datetime=${e.occurred_at}>${formatTime(locale, e.occurred_at)}</time>
          <span class="label">${(locale === 'en' && e.label) || t.types[e.type] || e.label || e.type}</span>
          <span class="source">${t.via[e.source] || e.source}</span>
        </li>`,
      )}
      ${order && order.created_at
        ? html`<li key="placed" data-key="placed" data-type="placed">
            <time datetime=${order.created_at}>${formatTime(locale, order.created_at)}</time>
            <span class="label">${t.placedEntry}</span><span class="source"></span>
          </li>`
        : null}
    </ol>
    ${items.length === 0 && !order ? html`<p>${t.noEvents}</p>` : null}
  </section>`;
}

function App() {
  const [locale, setLocaleState] = useState(pickLocale);
  const [order, setOrder] = useState(null); // {status, eta, created_at}
  const [entries, setEntries] = useState(() => new Map());
  const [conn, setConn] = useState('connecting');
  const [problem, setProblem] = useState(token ? null : 'badLink');
  const t = textsOf(locale);
  const setLocale = (l) => {
    keepLocale(l);
    setLocaleState(l);
  };

  useEffect(() => {
    keepLocale(locale);
  }, []);

  useEffect(() => {
    if (!token) return undefined;
    let live = null;
    let ended = false;
    const fail = (err) => {
      if (ended) return;
      if (err.status === 401 || err.code === 'unauthorized' || err.code === 'expired') {
        forgetToken(storageKey);
        setProblem('badLink');
      } else if (err.status === 403 || err.status === 404 || err.code === 'forbidden' || err.code === 'not_found') {
        setProblem('notFound');
      } else {
        setProblem('failed');
      }
      setConn('offline');
      if (live) live.stop();
    };
    const loadTimeline = () =>
      api(token, `/v1/orders/${encodeURIComponent(orderId)}/timeline`).then((tl) => {
        setEntries((prev) => {
          const next = new Map(prev);
          return mergeEntries(next, tl.events || []) ? next : prev;
        });
        setOrder((prev) => ({ ...(prev || {}), status: (prev && prev.status) || tl.status, eta: prev ? prev.eta : tl.eta }));
      });
    loadTimeline()
      .then(() => {
        if (ended) return;
        live = follow({
          token,
          topic: `order:${orderId}`,
          expiresAt: tokenExpiry(token),
          onState: setConn,
          onFatal: (code) => fail({ code }),
          onSnapshot: (data) => {
            setOrder({ status: data.status, eta: data.eta || null, created_at: data.created_at });
            // What happened between the first read and this subscription is in the timeline.
            loadTimeline().catch(fail);
          },
          onEvent: (data) => {
            setOrder((prev) => {
              const next = { ...(prev || {}), status: data.status || (prev && prev.status) };
              if (data.eta) next.eta = data.eta;
              else if (data.event && data.event.type === 'eta_updated') next.eta = null;
              return next;
            });
            if (data.event) {
              setEntries((prev) => {
                const next = new Map(prev);
                return mergeEntries(next, [data.event]) ? next : prev;
              });
            }
          },
        });
      })
      .catch(fail);
    return () => {
      ended = true;
      if (live) live.stop();
    };
  }, []);

  const status = order && order.status;
  // The mark the browser test reads: the order's status is on the screen.
  useEffect(() => {
    if (status && performance.getEntriesByName('mercato:first-render').length === 0)
      performance.mark('mercato:first-render');
  }, [status]);
  const delayed = useMemo(
    () => [...entries.values()].some((e) => e.type === 'delay_warning' && e.external_id === `delay_warning:${status}`),
    [entries, status],
  );

  return html`<a class="skip" href="#main">${t.skip}</a>
    <header class="top" role="banner">
      <span class="brand">${t.brand}</span>
      <span class="title">${t.trackTitle}</span>
      <${LanguageSwitch} locale=${locale} setLocale=${setLocale} t=${t} />
    </header>
    <main id="main" tabindex="-1">
      <h1>${t.order} <span class="order-id">${orderId}</span></h1>
      ${problem
        ? html`<p class="problem" role="alert" id="problem" data-problem=${problem}>${t[problem]}</p>`
        : html`
          <p id="conn" class=${`conn ${conn}`} role="status" data-state=${conn}>${t[conn] || conn}</p>
          ${status
            ? html`<p class="status-now">${t.status}: <strong id="status" data-status=${status}>${t.statuses[status] || status}</strong></p>
              <${Progress} status=${status} t=${t} />
              ${delayed ? html`<p class="delay" role="alert" id="delay">${t.delayed}</p>` : null}
              <p class="eta" id="eta" data-eta=${order.eta || ''}>
                ${order.eta ? html`${t.eta}: <strong><time datetime=${order.eta}>${formatTime(locale, order.eta)}</time></strong>` : t.noEta}
              </p>`
            : null}
          <${Timeline} entries=${entries.values()} order=${order} locale=${locale} t=${t} />`}
    </main>
    <footer role="contentinfo"><p>${t.footer}</p></footer>`;
}

render(html`<${App} />`, document.getElementById('app'));
