// /admin: the operator's dashboard. The daily statistics as charts, each with its figures in a
// table under it (GET /v1/stats/daily), the cluster's members, shards and live entities per kind
// (live over the admin:cluster topic), dead letters, and notification deliveries with retry.
// The statistics, dead letters and deliveries have no topic, so they are polled.

import { h, render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import htm from 'htm';

import { Chart } from './chart.js';
import { follow } from './live.js';
import { api, forgetToken, takeToken, tokenExpiry } from './session.js';
import './base.css';
import './admin.css';

const html = htm.bind(h);
const storageKey = 'mercato.admin';
const refreshMs = 10000;

const day = (d) => d.toISOString().slice(0, 10);
const addDays = (d, n) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + n));

const monthName = (yyyyMm) =>
  new Date(`${yyyyMm}-01T00:00:00Z`).toLocaleString('en', { month: 'short', timeZone: 'UTC' });

function money(minor, currency) {
  try {
    const f = new Intl.NumberFormat('en', { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(minor / 10 ** digits);
  } catch {
    return `${minor} ${currency}`;
  }
}

// Sums rows of one currency by a key.
function sumBy(rows, currency, keyOf, keys) {
  const out = new Map(keys.map((k) => [k, { orders: 0, completed: 0, cancelled: 0, revenue: 0 }]));
  for (const r of rows) {
    if (r.currency !== currency) continue;
    const k = keyOf(r);
    if (!out.has(k)) out.set(k, { orders: 0, completed: 0, cancelled: 0, revenue: 0 });
    const s = out.get(k);
    s.orders += r.total_orders;
    s.completed += r.completed_orders;
    s.cancelled += r.cancelled_orders;
    s.revenue += r.total_revenue_minor;
  }
  return out;
}

function Figures({ id, caption, keyName, sums, currency }) {
  return html`<div class="scroll"><table id=${id}>
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">${keyName}</th><th scope="col">Orders</th><th scope="col">Completed</th>
      <th scope="col">Cancelled</th><th scope="col">Revenue</th></tr></thead>
    <tbody>
      ${[...sums].map(
        ([k, s]) => html`<tr data-key=${k}>
          <th scope="row">${k}</th>
          <td data-field="orders">${s.orders}</td>
          <td data-field="completed">${s.completed}</td>
          <td data-field="cancelled">${s.cancelled}</td>
          <td data-field="revenue" data-minor=${s.revenue}>${money(s.revenue, currency)}</td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}

function Stats({ token, tick, onAuthError }) {
  const [week, setWeek] = useState(null);
  const [year, setYear] = useState(null);
  const [currency, setCurrency] = useState(null);
  const [error, setError] = useState(null);
  const today = new Date();
  const weekDays = [...Array(7)].map((_, i) => day(addDays(today, i - 6)));
  const firstMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 11, 1));
  const months = [...Array(12)].map((_, i) => day(new Date(Date.UTC(firstMonth.getUTCFullYear(), firstMonth.getUTCMonth() + i, 1))).slice(0, 7));

  useEffect(() => {
    Promise.all([
      api(token, `/v1/stats/daily?from=${weekDays[0]}&to=${weekDays[6]}`),
      api(token, `/v1/stats/daily?from=${day(firstMonth)}&to=${weekDays[6]}`),
    ])
      .then(([w, y]) => {
        setWeek(w);
        setYear(y);
        setError(null);
      })
      .catch((err) => (err.status === 401 || err.status === 403 ? onAuthError(err) : setError(err.message)));
  }, [tick]);

  if (error) return html`<p class="problem" role="alert">Statistics: ${error}</p>`;
  if (!week || !year) return html`<p>Loading statistics…</p>`;
  // Amounts of different currencies are never added up: one currency at a time.
  const currencies = [...new Set(year.map((r) => r.currency))].sort();
  const cur = currency && currencies.includes(currency) ? currency : currencies[0] || 'USD';
  const byDay = sumBy(week, cur, (r) => r.stat_date, weekDays);
  const byPlatform = sumBy(week, cur, (r) => r.platform, []);
  const byMonth = sumBy(year, cur, (r) => r.stat_date.slice(0, 7), months);
  const fmt = (v) => money(v, cur);
  return html`<section aria-labelledby="stats-h" id="stats" data-currency=${cur}>
    <h2 id="stats-h">Daily statistics</h2>
    ${currencies.length > 1
      ? html`<p><label>Currency <select value=${cur} onChange=${(e) => setCurrency(e.target.value)}>
          ${currencies.map((c) => html`<option value=${c}>${c}</option>`)}</select></label></p>`
      : html`<p>Amounts in ${cur}.</p>`}
    <div class="grid">
      <article aria-labelledby="rev-h">
        <h3 id="rev-h">Revenue, last 7 days</h3>
        <${Chart} name="Revenue per day" labels=${weekDays.map((d) => d.slice(5))} values=${[...byDay.values()].map((s) => s.revenue)} format=${fmt} />
        <${Figures} id="revenue-7d" caption="Revenue per day" keyName="Day" sums=${byDay} currency=${cur} />
      </article>
      <article aria-labelledby="plat-h">
        <h3 id="plat-h">Platforms, last 7 days</h3>
        <${Chart} name="Revenue per platform" labels=${[...byPlatform.keys()]} values=${[...byPlatform.values()].map((s) => s.revenue)} format=${fmt} />
        <${Figures} id="platforms" caption="Orders and revenue per platform" keyName="Platform" sums=${byPlatform} currency=${cur} />
      </article>
      <article aria-labelledby="month-h" class="span">
        <h3 id="month-h">Monthly trend</h3>
        <${Chart} name="Revenue per month" kind="line" labels=${months.map(monthName)} values=${[...byMonth.values()].map((s) => s.revenue)} format=${fmt} />
        <${Figures} id="monthly" caption="Orders and revenue per month" keyName="Month" sums=${byMonth} currency=${cur} />
      </article>
    </div>
  </section>`;
}

function usePolled(token, path, tick, onAuthError) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    api(token, path)
      .then((data) => setState({ data, error: null }))
      .catch((err) => (err.status === 401 || err.status === 403 ? onAuthError(err) : setState((s) => ({ ...s, error: err.message }))));
  }, [path, tick]);
  return state;
}

// Follows admin:cluster: the same description as GET /v1/admin/cluster, pushed on every change.
function useCluster(token, onAuthError) {
  const [state, setState] = useState({ data: null, conn: 'connecting' });
  useEffect(() => {
    const live = follow({
      token,
      topic: 'admin:cluster',
      expiresAt: tokenExpiry(token),
      onState: (conn) => setState((s) => ({ ...s, conn })),
      onSnapshot: (data) => setState((s) => ({ ...s, data })),
      onEvent: (data) => setState((s) => ({ ...s, data })),
      onFatal: (code) => onAuthError({ code }),
    });
    return () => live.stop();
  }, [token]);
  return state;
}

function Cluster({ token, onAuthError }) {
  const { data, conn } = useCluster(token, onAuthError);
  if (!data) return html`<p>Loading the cluster…</p>`;
  const kinds = new Map();
  for (const m of data.members)
    for (const [k, n] of Object.entries(m.entities_by_kind || {})) kinds.set(k, (kinds.get(k) || 0) + n);
  return html`<section aria-labelledby="cluster-h" id="cluster" data-conn=${conn}>
    <h2 id="cluster-h">Cluster</h2>
    <p class="live" role="status">${conn === 'live' ? 'Live' : 'Reconnecting…'}</p>
    <div class="scroll"><table id="members">
      <caption class="visually-hidden">Members</caption>
      <thead><tr><th scope="col">Node</th><th scope="col">Address</th><th scope="col">Status</th>
        <th scope="col">Shards</th><th scope="col">Live entities</th><th scope="col">Started</th></tr></thead>
      <tbody>${data.members.map(
        (m) => html`<tr data-node=${m.node_id}><th scope="row">${m.node_id}${m.node_id === data.self ? ' (this node)' : ''}</th>
          <td>${m.address}</td><td>${m.status}</td><td>${m.shards}</td><td data-field="entities">${m.entities}</td><td>${m.started_at || ''}</td></tr>`,
      )}</tbody>
    </table></div>
    <h3>Live entities per kind</h3>
    <table id="entities">
      <caption class="visually-hidden">Live entities per kind</caption>
      <thead><tr><th scope="col">Kind</th><th scope="col">Live</th></tr></thead>
      <tbody>${[...kinds].sort().map(([k, n]) => html`<tr data-kind=${k}><th scope="row">${k}</th><td>${n}</td></tr>`)}</tbody>
    </table>
  </section>`;
}

function DeadLetters({ token, tick, onAuthError }) {
  const [note, setNote] = useState('');
  const [own, setOwn] = useState(0);
  const { data, error } = usePolled(token, '/v1/admin/dead-letters?limit=20', tick + own, onAuthError);
  // Every kind goes again its own way (a webhook to its endpoint, a notification back to its
  // queue, a checkout's owed compensation as one more round); the letter records the outcome.
  const retry = (id) =>
    api(token, `/v1/admin/dead-letters/${encodeURIComponent(id)}/retry`, { method: 'POST' })
      .then(() => {
        setNote(`Dead letter ${id} was sent again.`);
        setOwn((n) => n + 1);
      })
      .catch((err) => {
        setNote(`Retry of dead letter ${id} failed: ${err.message}`);
        setOwn((n) => n + 1);
      });
  return html`<section aria-labelledby="dead-h">
    <h2 id="dead-h">Dead letters</h2>
    <p role="status" id="dead-note">${note}</p>
    ${error ? html`<p class="problem" role="alert">${error}</p>` : null}
    ${data && data.items.length === 0 ? html`<p>None.</p>` : null}
    ${data && data.items.length > 0
      ? html`<div class="scroll"><table id="dead-letters">
          <thead><tr><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">Last error</th>
            <th scope="col">Attempts</th><th scope="col">Dead since</th><th scope="col">State</th></tr></thead>
          <tbody>${data.items.map(
            (d) => html`<tr data-id=${d.id} data-state=${d.resolved_at ? 'resolved' : 'open'}><td>${d.kind}</td><td class="wrap">${d.target}</td>
              <td class="wrap">${d.last_error}</td><td>${d.attempts}${d.retries ? ` + ${d.retries} retried` : ''}</td><td>${d.dead_at}</td>
              <td>${d.resolved_at ? `resolved ${d.resolved_at}` : html`<button type="button" onClick=${() => retry(d.id)}>Retry</button>`}</td></tr>`,
          )}</tbody></table></div>`
      : null}
  </section>`;
}

function Notifications({ token, tick, onAuthError }) {
  const [status, setStatus] = useState('dead');
  const [note, setNote] = useState('');
  const [own, setOwn] = useState(0);
  const { data, error } = usePolled(token, `/v1/admin/notifications?status=${status}&limit=20`, tick + own, onAuthError);
  const retry = (id) =>
    api(token, `/v1/admin/notifications/${encodeURIComponent(id)}/retry`, { method: 'POST' })
      .then(() => {
        setNote(`Delivery ${id} is queued again.`);
        setOwn((n) => n + 1);
      })
      .catch((err) => setNote(`Retry of ${id} failed: ${err.message}`));
  return html`<section aria-labelledby="notif-h">
    <h2 id="notif-h">Notification deliveries</h2>
    <div class="lang" role="group" aria-label="Status">
      ${['dead', 'failed', 'pending', 'delivered'].map(
        (s) => html`<button type="button" aria-pressed=${s === status ? 'true' : 'false'} onClick=${() => setStatus(s)}>${s}</button>`,
      )}
    </div>
    <p role="status">${note}</p>
    ${error ? html`<p class="problem" role="alert">${error}</p>` : null}
    ${data && data.items.length === 0 ? html`<p>No ${status} deliveries.</p>` : null}
    ${data && data.items.length > 0
      ? html`<div class="scroll"><table id="notifications">
          <thead><tr><th scope="col">Order</th><th scope="col">Kind</th><th scope="col">Channel</th>
            <th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
          <tbody>${data.items.map(
            (n) => html`<tr data-id=${n.id}><td>${n.order_id}</td><td>${n.kind}</td><td>${n.channel}</td>
              <td>${n.attempts}</td><td class="wrap">${n.last_error || ''}</td>
              <td>${n.status === 'dead' || n.status === 'failed'
                ? html`<button type="button" onClick=${() => retry(n.id)}>Retry</button>`
                : null}</td></tr>`,
          )}</tbody></table></div>`
      : null}
  </section>`;
}

function TokenForm({ onToken, refused }) {
  const [value, setValue] = useState('');
  return html`<form class="token" onSubmit=${(e) => {
      e.preventDefault();
      if (value.trim()) onToken(value.trim());
    }}>
    ${refused ? html`<p class="problem" role="alert" id="problem">The token was refused. An admin token is needed.</p>` : null}
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="off" value=${value} onInput=${(e) => setValue(e.target.value)} />
    <button type="submit">Open</button>
  </form>`;
}

function App() {
  const [token, setToken] = useState(() => takeToken(storageKey));
  const [refused, setRefused] = useState(false);
  const [tick, setTick] = useState(0);
  const [updated, setUpdated] = useState(null);
  const onAuthError = useCallback(() => {
    forgetToken(storageKey);
    setToken('');
    setRefused(true);
  }, []);
  useEffect(() => {
    if (!token) return undefined;
    setUpdated(new Date());
    const timer = setTimeout(() => setTick((n) => n + 1), refreshMs);
    return () => clearTimeout(timer);
  }, [token, tick]);
  const use = (t) => {
    try {
      sessionStorage.setItem(storageKey, t);
    } catch {
      // memory only
    }
    setRefused(false);
    setToken(t);
  };
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="top" role="banner">
      <span class="brand">Mercato</span><span class="title">Operations</span>
      ${token ? html`<button type="button" onClick=${() => setTick((n) => n + 1)}>Refresh</button>` : null}
    </header>
    <main id="main" tabindex="-1" class="wide">
      <h1>Dashboard</h1>
      ${token
        ? html`<p class="updated" role="status">Updated ${updated ? updated.toISOString().slice(11, 19) : ''} UTC; statistics, dead letters and deliveries refresh every ${refreshMs / 1000} s; the cluster is live.</p>
          <${Stats} token=${token} tick=${tick} onAuthError=${onAuthError} />
          <div class="grid two">
            <${Cluster} token=${token} onAuthError=${onAuthError} />
            <${DeadLetters} token=${token} tick=${tick} onAuthError=${onAuthError} />
          </div>
          <${Notifications} token=${token} tick=${tick} onAuthError=${onAuthError} />`
        : html`<${TokenForm} onToken=${use} refused=${refused} />`}
    </main>
    <footer role="contentinfo" class="wide"><p>Mercato operations dashboard</p></footer>`;
}

render(html`<${App} />`, document.getElementById('app'));
