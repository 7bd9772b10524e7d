// jobq dashboard: plain JavaScript, no framework, nothing fetched but this server's API.
const $ = (sel, root = document) => root.querySelector(sel);
const main = $('#main');
const STATUSES = ['waiting', 'scheduled', 'pending', 'processing', 'completed', 'failed', 'cancelled'];
const FINISHED = ['completed', 'failed', 'cancelled'];
export const debug = (window.jobqDebug = { lastRenderMs: 0, renders: 0, streamFrames: 0 });

// ---------- theme ----------
const savedTheme = localStorage.getItem('jobq.theme');
const prefersDark = matchMedia('(prefers-color-scheme: dark)').matches;
document.documentElement.dataset.theme = savedTheme ?? (prefersDark ? 'dark' : 'light');
$('#theme').addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem('jobq.theme', next);
});

// ---------- helpers ----------
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (n) => (n ?? 0).toLocaleString('en-US');
const badge = (s) => `<span class="badge s-${esc(s)}">${esc(s)}</span>`;
function ago(iso) {
  if (!iso) return '—';
  const ms = Date.now() - Date.parse(iso);
  const a = Math.abs(ms);
  const t = a < 1000 ? 'now' : a < 60e3 ? `${Math.round(a / 1e3)}s` : a < 3600e3 ? `${Math.round(a / 60e3)}m` : a < 86400e3 ? `${Math.round(a / 3600e3)}h` : `${Math.round(a / 86400e3)}d`;
  return t === 'now' ? 'now' : ms >= 0 ? `${t} ago` : `in ${t}`;
}
const when = (iso) => (iso ? `<span title="${esc(iso)}">${esc(ago(iso))}</span>` : '<span class="muted">—</span>');
const secs = (s) => (s == null ? '—' : s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
function toast(msg) {
  const t = $('#toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 3500);
}
function parseHash() {
  const [path, qs] = location.hash.replace(/^#/, '').split('?');
  return { parts: (path || '/').split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs ?? '') };
}

// ---------- API with the token prompt ----------
let token = sessionStorage.getItem('jobq.token') ?? '';
let loginWait = null;
function login(message) {
  loginWait ??= new Promise((resolve) => {
    const dlg = $('#login');
    const err = $('#login-error');
    err.hidden = !message;
    err.textContent = message ?? '';
    $('#token').value = '';
    dlg.showModal();
    dlg.addEventListener('close', function done() {
      dlg.removeEventListener('close', done);
      token = $('#token').value.trim();
      sessionStorage.setItem('jobq.token', token);
      loginWait = null;
      resolve();
    });
  });
  return loginWait;
}
const authHeaders = () => (token ? { authorization: `Bearer ${token}` } : {});
async function api(method, path, body) {
  for (;;) {
    const res = await fetch(path, {
      method,
      headers: { ...authHeaders(), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (res.status === 401) {
      await login(token ? 'That token was not accepted.' : null);
      continue;
    }
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(data?.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
    return data;
  }
}
function confirmAction(text, okLabel = 'Confirm') {
  const dlg = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  dlg.showModal();
  return new Promise((resolve) => dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true }));
}
async function act(text, okLabel, call, done) {
  if (!(await confirmAction(text, okLabel))) return;
  try {
    const out = await call();
    toast(done(out));
    route();
  } catch (e) {
    toast(e.message);
  }
}

// ---------- event stream over fetch (EventSource cannot send a token) ----------
function stream(query, handlers) {
  let stopped = false;
  let lastId = '';
  let ctrl = null;
  let backoff = 500;
  (async function loop() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const res = await fetch(`/v1/events?${query}`, { headers: { ...authHeaders(), accept: 'text/event-stream', ...(lastId && { 'last-event-id': lastId }) }, signal: ctrl.signal });
        if (res.status === 401) {
          await login(token ? 'That token was not accepted.' : null);
          continue;
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        handlers.open?.();
        backoff = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let event = 'message';
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('id: ')) lastId = line.slice(4);
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (!data) continue;
            debug.streamFrames++;
            handlers[event]?.(JSON.parse(data));
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      handlers.close?.();
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
    }
  })();
  return () => {
    stopped = true;
    ctrl?.abort();
  };
}

// One stats stream for the whole app: the live badge, charts and refreshes.
const live = $('#live');
let onStats = null;
stream('stats=1&events=0', {
  open: () => ((live.className = 'live on'), (live.textContent = 'live')),
  close: () => ((live.className = 'live off'), (live.textContent = 'offline')),
  stats: (s) => onStats?.(s),
});
const sumKinds = (queues) => {
  const t = { enqueued: 0, started: 0, completed: 0, failed: 0, retrying: 0, cancelled: 0, rescued: 0 };
  for (const q of Object.values(queues)) for (const k in t) t[k] += q[k] ?? 0;
  return t;
};
const busy = (s) => Object.values(sumKinds(s.queues)).some((n) => n > 0);

// ---------- pages ----------
let pageStream = null;
let refreshTimer = null;
async function allQueues() {
  const out = [];
  let cursor = '';
  do {
    const page = await api('GET', `/v1/queues?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.queues);
    cursor = page.nextCursor;
  } while (cursor && out.length < 5000);
  return out;
}

function chart(title, series, cls, labels) {
  const n = series[0].length;
  const max = Math.max(1, ...series.flatMap((s) => s));
  const w = 600;
  const h = 150;
  const bw = w / n;
  const bars = series
    .map((s, k) => s.map((v, i) => (v ? `<rect class="${cls[k]}" x="${(i * bw + (k * bw) / series.length).toFixed(1)}" y="${(h - 16 - (v / max) * (h - 26)).toFixed(1)}" width="${Math.max(1, bw / series.length - 1).toFixed(1)}" height="${((v / max) * (h - 26)).toFixed(1)}"><title>${v}</title></rect>` : '')).join(''))
    .join('');
  return `<div class="panel chart"><div class="row"><h2>${esc(title)}</h2><span class="spacer"></span><div class="legend">${labels.map((l, k) => `<span><i class="${cls[k]}"></i>${esc(l)}</span>`).join('')}</div></div>
    <svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${esc(title)}">
      <line class="grid" x1="0" x2="${w}" y1="${h - 16}" y2="${h - 16}"/><line class="grid" x1="0" x2="${w}" y1="10" y2="10"/>
      <text class="axis" x="2" y="9">${fmt(max)}/min</text><text class="axis" x="2" y="${h - 3}">60 min ago</text><text class="axis" x="${w - 2}" y="${h - 3}" text-anchor="end">now</text>
      ${bars}</svg></div>`;
}

async function overview() {
  const [queues, stats] = await Promise.all([allQueues(), api('GET', '/v1/stats')]);
  const totals = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const q of queues) for (const s of STATUSES) totals[s] += q.counts[s] ?? 0;
  const h = stats.history;
  const perMin = (k) => {
    const src = h?.series[k] ?? [];
    const per = Math.max(1, Math.round(60_000 / (h?.bucketMs ?? 60_000)));
    const out = [];
    for (let i = 0; i < src.length; i += per) out.push(src.slice(i, i + per).reduce((a, b) => a + b, 0));
    return out.slice(-60);
  };
  const failures = perMin('failed').map((v, i) => v + perMin('retrying')[i]);
  main.innerHTML = `<h1>Overview</h1>
    <div class="cards" id="counts">${['pending', 'scheduled', 'processing', 'completed', 'failed', 'cancelled', 'waiting']
      .map((s) => `<div class="card" data-status="${s}"><div class="n s-${s}">${fmt(totals[s])}</div><div class="l">${s}</div></div>`)
      .join('')}<div class="card"><div class="n">${fmt(queues.length)}</div><div class="l">queues</div></div></div>
    <div class="charts">${chart('Throughput: jobs per minute', [perMin('started'), perMin('completed')], ['b', 'a'], ['started', 'completed'])}
    ${chart('Failures per minute', [perMin('retrying'), perMin('failed')], ['c', 'd'], ['retried', 'failed for good'])}</div>
    <p class="muted">Counts are cluster-wide. Charts cover every node's events since this server started (up to an hour). ${failures.some(Boolean) ? '' : 'No failures in the last hour.'}</p>`;
  onStats = (s) => busy(s) && refresh();
}

async function queuesPage() {
  const [queues, stats] = await Promise.all([allQueues(), api('GET', '/v1/stats')]);
  const limit = (q) => {
    const s = q.settings ?? {};
    const parts = [];
    if (s.concurrency != null) parts.push(`≤ ${s.concurrency} running`);
    if (s.perKeyConcurrency != null) parts.push(`≤ ${s.perKeyConcurrency} per key`);
    const per = (ms) => (ms === 1000 ? 's' : ms === 60_000 ? 'min' : ms === 3_600_000 ? 'h' : secs(ms / 1000));
    if (s.rateLimit) parts.push(`${s.rateLimit.max}/${per(s.rateLimit.intervalMs)}`);
    if (s.perKeyRateLimit) parts.push(`${s.perKeyRateLimit.max}/${per(s.perKeyRateLimit.intervalMs)} per key`);
    return parts.length ? esc(parts.join(', ')) : '<span class="muted">none</span>';
  };
  main.innerHTML = `<h1>Queues</h1>${queues.length === 0 ? '<p class="panel muted">No queues yet: enqueue a job and its queue appears here.</p>' : ''}
    <div class="panel table-wrap"><table id="queues"><thead><tr><th>Queue</th><th>State</th>
      <th class="num">Pending</th><th class="num">Scheduled</th><th class="num">Running</th><th class="num">Completed</th><th class="num">Failed</th>
      <th class="num hide-sm">Wait p50</th><th class="num hide-sm">Wait p99</th><th class="hide-sm">Limits</th><th>Actions</th></tr></thead><tbody>
    ${queues
      .map((q) => {
        const w = stats.waits[q.name];
        const n = encodeURIComponent(q.name);
        return `<tr data-queue="${esc(q.name)}"><td><a href="#/jobs?queue=${n}">${esc(q.name)}</a></td><td>${q.paused ? badge('paused') : badge('active')}</td>
        <td class="num">${fmt(q.counts.pending)}</td><td class="num">${fmt(q.counts.scheduled + (q.counts.waiting ?? 0))}</td><td class="num">${fmt(q.counts.processing)}</td>
        <td class="num"><a href="#/jobs?queue=${n}&status=completed">${fmt(q.counts.completed)}</a></td><td class="num"><a href="#/jobs?queue=${n}&status=failed">${fmt(q.counts.failed)}</a></td>
        <td class="num hide-sm">${w ? secs(w.p50) : '—'}</td><td class="num hide-sm">${w ? secs(w.p99) : '—'}</td><td class="hide-sm wrap">${limit(q)}</td>
        <td><div class="row nowrap"><button class="small ghost" data-act="${q.paused ? 'resume' : 'pause'}">${q.paused ? 'Resume' : 'Pause'}</button>
          <button class="small ghost" data-act="retry-failed" ${q.counts.failed ? '' : 'disabled'}>Retry failed</button>
          <button class="small ghost" data-act="delete-finished" ${q.counts.completed + q.counts.failed + q.counts.cancelled ? '' : 'disabled'}>Delete finished</button></div></td></tr>`;
      })
      .join('')}</tbody></table></div>
    <p class="muted">Counts are cluster-wide. Wait is from when a job was due to its start, over the last 1,000 jobs this server's workers ran.</p>`;
  main.querySelectorAll('button[data-act]').forEach((b) =>
    b.addEventListener('click', () => {
      const q = b.closest('tr').dataset.queue;
      const n = encodeURIComponent(q);
      const a = b.dataset.act;
      if (a === 'pause') act(`Pause queue "${q}"? No worker on any node claims its jobs until it is resumed; running jobs finish.`, 'Pause', () => api('POST', `/v1/queues/${n}/pause`), () => `Paused ${q}`);
      if (a === 'resume') act(`Resume queue "${q}"?`, 'Resume', () => api('POST', `/v1/queues/${n}/resume`), () => `Resumed ${q}`);
      if (a === 'retry-failed') act(`Retry every failed job of "${q}"? Each goes back to pending with a fresh attempt budget.`, 'Retry all', () => api('POST', `/v1/queues/${n}/retry-failed`), (o) => `Retried ${fmt(o.retried)} jobs${o.more ? ' (more left: run again)' : ''}`);
      if (a === 'delete-finished') act(`Delete every completed, failed and cancelled job of "${q}"? This cannot be undone.`, 'Delete', () => api('POST', `/v1/queues/${n}/delete-finished`), (o) => `Deleted ${fmt(o.deleted)} jobs`);
    }),
  );
  onStats = (s) => busy(s) && refresh();
}

export function jobRows(jobs) {
  const rows = new Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    rows[i] = `<tr class="click" data-id="${j.id}"><td class="mono"><a href="#/jobs/${j.id}">${j.id.slice(-12)}</a></td><td>${esc(j.type)}</td><td class="hide-sm">${esc(j.queue)}</td><td>${badge(j.status)}</td><td class="num">${j.attempts}/${j.maxAttempts}</td><td class="hide-sm">${j.key ? esc(j.key) : '<span class="muted">—</span>'}</td><td>${when(j.createdAt)}</td><td class="hide-sm">${when(j.finishedAt ?? j.startedAt ?? j.runAt)}</td></tr>`;
  }
  return rows.join('');
}

async function jobsPage(query) {
  const status = query.get('status') ?? '';
  const queue = query.get('queue') ?? '';
  const type = query.get('type') ?? '';
  const key = query.get('key') ?? '';
  const since = query.get('since') ?? '';
  const limit = query.get('limit') ?? '100';
  const cursor = query.get('cursor') ?? '';
  // "Last hour" is resolved once and carried to the next pages (as `after`), so they page one listing.
  const after = since ? (query.get('after') || new Date(Date.now() - Number(since) * 60_000).toISOString()) : '';
  const qs = new URLSearchParams({ limit, ...(status && { status }), ...(queue && { queue }), ...(type && { type }), ...(key && { key }), ...(after && { createdAfter: after }), ...(cursor && { cursor }) });
  const [page, queues] = await Promise.all([api('GET', `/v1/jobs?${qs}`), allQueues()]);
  const shown = page.jobs;
  // Type, key and time are tested server-side on up to 10,000 jobs per page: a short page may have more after it.
  const short = (type || key || since) && page.nextCursor && shown.length < Number(limit);
  const opt = (v, cur, label = v) => `<option value="${esc(v)}" ${v === cur ? 'selected' : ''}>${esc(label)}</option>`;
  main.innerHTML = `<h1>Jobs</h1>
    <form class="filters" id="filters">
      <label>Status<select name="status">${opt('', status, 'any')}${STATUSES.map((s) => opt(s, status)).join('')}</select></label>
      <label>Queue<select name="queue">${opt('', queue, 'any')}${queues.map((q) => opt(q.name, queue)).join('')}</select></label>
      <label>Type<input name="type" value="${esc(type)}" placeholder="any"></label>
      <label>Key<input name="key" value="${esc(key)}" placeholder="any"></label>
      <label>Created<select name="since">${opt('', since, 'any time')}${opt('5', since, 'last 5 min')}${opt('60', since, 'last hour')}${opt('1440', since, 'last day')}</select></label>
      <label>Per page<select name="limit">${['50', '100', '500'].map((n) => opt(n, limit)).join('')}</select></label>
      <button type="submit">Apply</button>
    </form>
    <div class="panel table-wrap"><table id="jobs"><thead><tr><th>Id</th><th>Type</th><th class="hide-sm">Queue</th><th>Status</th><th class="num">Attempts</th><th class="hide-sm">Key</th><th>Created</th><th class="hide-sm">Started / finished</th></tr></thead>
    <tbody></tbody></table>
    ${shown.length === 0 ? `<p class="muted">No jobs${status ? ` ${esc(status)}` : ''}${queue ? ` in ${esc(queue)}` : ''} on this page.</p>` : ''}
    <div class="pager"><span class="muted" id="shown">${fmt(shown.length)} shown${short ? ' (a filtered page looks at up to 10,000 jobs: the next may hold more)' : ''}</span>
      <span class="row">${cursor ? `<a href="#/jobs?${new URLSearchParams({ ...Object.fromEntries(query), cursor: '', after: '' })}">First page</a>` : ''}
      ${page.nextCursor ? `<a id="next" href="#/jobs?${new URLSearchParams({ ...Object.fromEntries(query), cursor: page.nextCursor, ...(after && { after }) })}">Next page →</a>` : ''}</span></div></div>`;
  const t0 = performance.now();
  $('#jobs tbody').innerHTML = jobRows(shown);
  debug.lastRenderMs = performance.now() - t0;
  debug.renders++;
  $('#jobs tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-id]');
    if (tr && !e.target.closest('a')) location.hash = `#/jobs/${tr.dataset.id}`;
  });
  $('#filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const next = new URLSearchParams();
    for (const [k, v] of f) if (v) next.set(k, v);
    location.hash = `#/jobs?${next}`;
  });
  // Live: the first page follows changes; deeper pages stay put while you read them.
  onStats = (s) => !cursor && busy(s) && refresh();
}

async function jobPage(id) {
  const job = await api('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  const json = (v) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
  const timeline = [
    ['created', job.createdAt],
    [job.status === 'scheduled' ? 'runs at' : 'due', job.runAt],
    ['last started', job.startedAt],
    ...job.errors.map((e) => [`attempt ${e.attempt} failed`, e.at]),
    [job.status, job.finishedAt],
  ]
    .filter(([, t]) => t)
    .sort((a, b) => Date.parse(a[1]) - Date.parse(b[1]));
  const canCancel = ['waiting', 'scheduled', 'pending', 'processing'].includes(job.status);
  const canRetry = job.status === 'failed' || job.status === 'cancelled';
  main.innerHTML = `<h1><a href="#/jobs?queue=${encodeURIComponent(job.queue)}" class="muted">Jobs</a> / <span class="mono">${esc(job.id)}</span> ${badge(job.status)}</h1>
    <div class="row actions">${canRetry ? '<button id="retry">Retry</button>' : ''}${canCancel ? '<button id="cancel" class="danger">Cancel</button>' : ''}</div>
    <div class="charts"><div class="panel"><h2>Job</h2><dl class="kv">
      <dt>Type</dt><dd>${esc(job.type)}</dd><dt>Queue</dt><dd><a href="#/jobs?queue=${encodeURIComponent(job.queue)}">${esc(job.queue)}</a></dd>
      <dt>Attempts</dt><dd>${job.attempts} of ${job.maxAttempts}</dd><dt>Priority</dt><dd>${job.priority}</dd>
      ${job.key ? `<dt>Key</dt><dd>${esc(job.key)}</dd>` : ''}${job.timeoutMs ? `<dt>Timeout</dt><dd>${secs(job.timeoutMs / 1000)}</dd>` : ''}
      ${job.dependsOn?.length ? `<dt>Depends on</dt><dd>${job.dependsOn.map((d) => `<a class="mono" href="#/jobs/${esc(d)}">${esc(d.slice(-12))}</a>`).join(', ')}</dd>` : ''}
      <dt>Progress</dt><dd>${job.progress == null ? '<span class="muted">—</span>' : `<progress max="100" value="${Math.max(0, Math.min(100, Number(job.progress)))}" title="${esc(job.progress)}"></progress> ${esc(job.progress)}`}</dd>
      <dt>Lease until</dt><dd>${when(job.leaseExpiresAt)}</dd></dl></div>
    <div class="panel"><h2>Timeline</h2><ol class="timeline" id="timeline">${timeline.map(([l, t]) => `<li><b>${esc(l)}</b> ${when(t)} <span class="muted mono">${esc(t)}</span></li>`).join('')}</ol></div></div>
    <div class="panel"><h2>Payload</h2>${json(job.payload)}</div>
    ${job.result != null ? `<div class="panel"><h2>Result</h2>${json(job.result)}</div>` : ''}
    <div class="panel"><h2>Errors ${job.errors.length ? `<span class="muted">(${job.errors.length})</span>` : ''}</h2>${
      job.errors.length === 0
        ? '<p class="muted">No attempt failed.</p>'
        : job.errors
            .map((e) => `<div class="attempt"><b>Attempt ${e.attempt}</b> ${when(e.at)}<div class="error">${esc(e.message)}</div>${e.stack ? `<pre>${esc(e.stack)}</pre>` : ''}</div>`)
            .join('')
    }</div>`;
  $('#retry')?.addEventListener('click', () => act('Retry this job? It goes back to pending with a fresh attempt budget.', 'Retry', () => api('POST', `/v1/jobs/${job.id}/retry`), () => 'Retried'));
  $('#cancel')?.addEventListener('click', () => act('Cancel this job? A running handler is told to stop.', 'Cancel job', () => api('POST', `/v1/jobs/${job.id}/cancel`), () => 'Cancelled'));
  pageStream = stream(`jobId=${encodeURIComponent(job.id)}`, {
    // A change between the read above and the stream's start sends nothing: look again once it is open.
    open: () => void api('GET', `/v1/jobs/${encodeURIComponent(job.id)}`).then((now) => now.status !== job.status && refresh(), () => {}),
    message: () => refresh(),
  });
  onStats = null;
}

async function schedulesPage() {
  let list;
  try {
    list = await api('GET', '/v1/schedules?limit=500');
  } catch (e) {
    main.innerHTML = `<h1>Schedules</h1><p class="panel error">${esc(e.message)}</p>`;
    return;
  }
  const schedules = list.schedules ?? [];
  main.innerHTML = `<h1>Schedules</h1>${schedules.length === 0 ? '<p class="panel muted">No schedules. Declare them in Jobq\'s options or PUT /v1/schedules/{name}.</p>' : ''}
    <div class="panel table-wrap"><table id="schedules"><thead><tr><th>Name</th><th>Cron</th><th class="hide-sm">Time zone</th><th>Job</th><th>State</th><th>Next run</th><th>Last run</th></tr></thead><tbody>
    ${schedules
      .map(
        (s) => `<tr><td>${esc(s.name)}</td><td class="mono">${esc(s.cron)}</td><td class="hide-sm">${esc(s.tz)}</td><td>${esc(s.job?.type)}${s.job?.queue ? ` <span class="muted">on ${esc(s.job.queue)}</span>` : ''}</td>
        <td>${s.paused ? badge('paused') : badge('active')}</td><td>${when(s.nextRunAt)}</td><td>${s.lastJobId ? `<a href="#/jobs/${esc(s.lastJobId)}">${ago(s.lastRunAt)}</a>` : when(s.lastRunAt)}</td></tr>`,
      )
      .join('')}</tbody></table></div>`;
  onStats = null;
}

// ---------- router ----------
let routing = Promise.resolve();
let pending = false;
let refreshAt = 0;
/** Live re-render: at most once a second, the last change always shown; never while a form field has focus. */
function refresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (document.activeElement?.closest('form') || $('dialog[open]')) return refresh();
    refreshAt = Date.now();
    route(true);
  }, Math.max(0, refreshAt + 1000 - Date.now()));
}
export function route(quiet = false) {
  if (pending) return routing;
  pending = true;
  routing = routing.then(async () => {
    pending = false;
    pageStream?.();
    pageStream = null;
    const { parts, query } = parseHash();
    const page = parts[0] ?? 'overview';
    document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('on', a.dataset.page === page));
    const y = scrollY;
    try {
      if (page === 'queues') await queuesPage();
      else if (page === 'jobs' && parts[1]) await jobPage(parts[1]);
      else if (page === 'jobs') await jobsPage(query);
      else if (page === 'schedules') await schedulesPage();
      else await overview();
      if (quiet) scrollTo(0, y);
    } catch (e) {
      main.innerHTML = `<p class="panel error">${esc(e.message)}</p>`;
    }
  });
  return routing;
}
window.addEventListener('hashchange', () => route());
route();
