/** The dashboard's stat tiles and tables: contributors, rejections, admin actions. */
import { accuracyMetric, type Model } from './model';
import { $, ago, bytes, clock, duration, esc, nf0, pct, shortId } from './format';

function setStat(id: string, value: string, sub = '\u00a0', warn = false): void {
  $(`s-${id}`).textContent = value;
  $(`s-${id}-sub`).textContent = sub;
  $(`st-${id}`).classList.toggle('warn', warn);
}

export function renderStats(m: Model): void {
  const s = m.state;
  const lastV = m.versions.at(-1);
  setStat('version', `v${s.version}`, lastV ? `last step ${ago(lastV.createdAt, m.skew)}` : 'no server step yet');
  const kinds = new Map<string, number>();
  for (const c of m.contributors) kinds.set(`${c.clientKind} · ${c.backend}`, (kinds.get(`${c.clientKind} · ${c.backend}`) ?? 0) + 1);
  setStat('contributors', String(m.contributors.length), [...kinds].map(([k, n]) => `${n} ${k}`).join(', ') || 'none connected');
  const paused = s.pausedAt !== null;
  setStat('buffer', `${s.bufferFill} / ${s.bufferSize}`, paused ? `paused ${ago(s.pausedAt!, m.skew)}` : s.aggregating ? 'aggregating…' : 'filling', paused);
  setStat('updates', nf0.format(s.totals.accepted), `${nf0.format(s.totals.applied)} folded · ${nf0.format(s.totals.rejected)} rejected`);
  const metric = accuracyMetric(m.evals);
  const acc = metric ? m.evals.filter((e) => e.metric === metric) : [];
  const lastAcc = acc.at(-1);
  setStat('knn', lastAcc ? pct(lastAcc.value) : '–', lastAcc ? `at v${lastAcc.version} · best ${pct(Math.max(...acc.map((e) => e.value)))}` : 'not evaluated yet');
  const sm = m.samples.at(-1);
  setStat('traffic', sm ? bytes(sm.bytesIn + sm.bytesOut) : '–', sm ? `${bytes(sm.bytesIn)} in · ${bytes(sm.bytesOut)} out` : '\u00a0');
  setStat('uptime', `up ${duration(s.now - s.startedAt)}`, sm ? `CPU ${Math.round(sm.cpu * 100)}% · RSS ${bytes(sm.rssBytes)}` : '\u00a0');
  $('paused-banner').hidden = !paused;
  const pause = $<HTMLButtonElement>('btn-pause');
  pause.textContent = paused ? 'Resume aggregation' : 'Pause aggregation';
  pause.classList.toggle('btn-warn', paused);
  const run = m.snap.run;
  $('run').innerHTML = `<b>${esc(run.method)}</b> · run <span class="mono">${esc(run.runId.slice(0, 8))}</span> · K=${s.bufferSize} · ${m.snap.plan.localSteps} local steps × batch ${m.snap.plan.batchSize}`;
  document.title = `v${s.version} · Glimpse admin`;
}

/** `revokeArmed(socketId)`: whether that row's revoke button waits for its confirming click. */
export function renderContributors(m: Model, revokeArmed: (socketId: string) => boolean): void {
  const body = $('t-contributors').querySelector('tbody')!;
  const v = m.state.version;
  body.innerHTML = m.contributors.map((c) => {
    const behind = c.trainingOn === null ? null : v - c.trainingOn;
    const trains = c.trainingOn === null ? '<span class="muted">pulling…</span>'
      : `v${c.trainingOn} <span class="pill ${behind === 0 ? 'ok' : behind! > 2 ? 'warn' : ''}">${behind === 0 ? 'current' : `${behind} behind`}</span>`;
    const armedNow = revokeArmed(c.socketId);
    const revoke = m.state.tokensRequired && c.token
      ? `<button class="btn btn-danger btn-small${armedNow ? ' armed' : ''}" data-revoke="${esc(c.socketId)}" type="button">${armedNow ? 'Click again to revoke' : 'Revoke token'}</button>` : '';
    const flag = c.quarantined ? ' <span class="pill warn">quarantined</span>' : c.flag ? ` <span class="pill warn" title="${esc(c.flag)}">flagged</span>` : '';
    return `<tr><td class="mono" title="${esc(c.contributorId)}${c.flag ? ` — ${esc(c.flag)}` : ''}">${esc(shortId(c.contributorId))}${flag}</td><td>${esc(c.clientKind)}</td><td>${esc(c.backend)}</td>
      <td>${trains}</td><td class="num">${c.accepted}</td><td class="num">${c.rejected}</td><td>${duration(m.state.now - c.connectedAt)}</td>
      <td class="mono">${c.token ? esc(c.token) : '<span class="muted">open</span>'}</td><td>${revoke}</td></tr>`;
  }).join('');
  $('contrib-empty').hidden = m.contributors.length > 0;
  $('t-contributors').hidden = m.contributors.length === 0;
  const versions = new Map<string, number>();
  for (const c of m.contributors) if (c.trainingOn !== null) versions.set(`v${c.trainingOn}`, (versions.get(`v${c.trainingOn}`) ?? 0) + 1);
  $('contrib-summary').textContent = versions.size ? `training on ${[...versions].map(([k, n]) => `${k} (${n})`).join(', ')}` : '';
}

export function renderRejections(m: Model): void {
  const counts = Object.entries(m.rejectionCounts).sort((a, b) => b[1] - a[1]);
  $('rej-counts').innerHTML = counts.map(([code, n]) => `<span class="chip">${esc(code)} <b>${n}</b></span>`).join('');
  const total = counts.reduce((s, [, n]) => s + n, 0);
  $('rej-total').textContent = total ? `${total} in total` : '';
  $('t-rejections').querySelector('tbody')!.innerHTML = m.rejections.map((r) =>
    `<tr><td title="${esc(new Date(r.at).toISOString())}">${clock(r.at)}</td><td class="mono">${esc(shortId(r.contributorId ?? '?'))}</td>
     <td class="wrap"><span class="pill bad">${esc(r.code)}</span> ${esc(r.reason)}</td></tr>`).join('');
  $('rej-empty').hidden = m.rejections.length > 0;
  $('t-rejections').hidden = m.rejections.length === 0;
}

export function renderActions(m: Model): void {
  $('t-actions').querySelector('tbody')!.innerHTML = m.actions.map((a) =>
    `<tr><td title="${esc(new Date(a.at).toISOString())}">${clock(a.at)}</td><td><b>${esc(a.action)}</b></td><td class="mono">${esc(a.target ?? '')}</td>
     <td>${esc(a.actor)}</td><td class="wrap"><span class="pill ${a.ok ? 'ok' : 'bad'}">${a.ok ? 'done' : 'refused'}</span> ${esc(a.detail ?? '')}</td></tr>`).join('');
  $('actions-empty').hidden = m.actions.length > 0;
  $('t-actions').hidden = m.actions.length === 0;
  const open = !m.state.tokensRequired;
  $('revoke-form').querySelectorAll('input, button').forEach((el) => ((el as HTMLInputElement).disabled = open));
  $('revoke-note').textContent = open ? 'this server is open (no contributor tokens)' : `${m.state.revokedTokens} token(s) revoked so far`;
}
