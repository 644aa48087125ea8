/**
 * The dashboard page's HTML: a shell with no run data in it (that arrives over the authenticated
 * `/admin` socket), so serving it to anyone leaks nothing. client/app.ts fills it in.
 */

const stat = (id: string, label: string) => `
        <div class="stat" id="st-${id}"><div class="stat-label">${label}</div><div class="stat-value" id="s-${id}">–</div><div class="stat-sub" id="s-${id}-sub">&nbsp;</div></div>`;

const chart = (id: string, title: string, span: number, hint = '') => `
        <section class="card span-${span}"><header><h2>${title}</h2>${hint ? `<span class="hint">${hint}</span>` : ''}</header><div class="chart" id="c-${id}"></div></section>`;

export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="dark light">
  <meta name="robots" content="noindex">
  <title>Glimpse · admin</title>
  <link rel="stylesheet" href="/admin/app.css">
  <script defer src="/admin/app.js"></script>
</head>
<body>
  <header class="topbar">
    <a class="brand" href="/admin"><span class="logo" aria-hidden="true"></span>Glimpse <span class="brand-sub">admin</span></a>
    <div class="run" id="run"></div>
    <div class="spacer"></div>
    <div class="live" id="live" data-state="off"><span class="dot"></span><span id="live-text">offline</span></div>
    <div class="toolbar" id="toolbar" hidden>
      <button class="btn" id="btn-pause" type="button">Pause aggregation</button>
      <button class="btn" id="btn-checkpoint" type="button">Force checkpoint</button>
      <button class="btn" id="btn-flush" type="button">Flush buffer</button>
      <button class="btn btn-ghost" id="btn-logout" type="button">Sign out</button>
    </div>
    <button class="btn btn-ghost btn-icon" id="btn-theme" type="button" title="Theme: auto" aria-label="Switch theme">◐</button>
  </header>

  <main>
    <section class="login" id="login" hidden>
      <form class="card login-card" id="login-form" autocomplete="off">
        <h1>Admin sign-in</h1>
        <p class="muted">Paste the admin token that <code>glimpse-server</code> printed at its first start (also in <code>&lt;data-dir&gt;/admin-token</code>), or open <code>/admin#token=…</code>.</p>
        <div class="alert" id="login-error" role="alert" hidden></div>
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" spellcheck="false" required>
        <button class="btn btn-primary" type="submit">Sign in</button>
      </form>
    </section>

    <section id="dash" hidden>
      <div class="paused-banner" id="paused-banner" hidden>Aggregation is <strong>paused</strong>: accepted updates wait in the buffer until it is resumed.</div>
      <div class="stats">${stat('version', 'Global version')}${stat('contributors', 'Contributors now')}${stat('buffer', 'Buffer')}${stat('updates', 'Updates accepted')}${stat('knn', 'kNN accuracy')}${stat('traffic', 'Traffic')}${stat('uptime', 'Server')}
      </div>
      <div class="grid">${chart('loss', 'Training loss', 6, 'mean local loss per server step')}${chart('knn', 'kNN accuracy', 6, 'server evaluation of the product encoder')}${chart('steps', 'Aggregation timeline', 4, 'updates folded per step · mean staleness')}${chart('staleness', 'Staleness histogram', 4, 'folded updates by τ (versions behind)')}${chart('norms', 'Update-norm distribution', 4, 'accepted deltas by ‖Δ‖₂')}${chart('net', 'Network', 4, 'bytes/s in and out')}${chart('cpu', 'CPU and event-loop lag', 4, 'server process')}${chart('mem', 'Memory', 4, 'server process')}
        <section class="card span-7">
          <header><h2>Contributors</h2><span class="hint" id="contrib-summary"></span></header>
          <div class="table-wrap"><table id="t-contributors">
            <thead><tr><th>Contributor</th><th>Client</th><th>Backend</th><th>Trains on</th><th class="num">Accepted</th><th class="num">Rejected</th><th>Connected</th><th>Token</th><th></th></tr></thead>
            <tbody></tbody>
          </table></div>
          <p class="empty" id="contrib-empty">No contributor connected.</p>
        </section>
        <section class="card span-5">
          <header><h2>Rejected updates</h2><span class="hint" id="rej-total"></span></header>
          <div class="chips" id="rej-counts"></div>
          <div class="table-wrap scroll"><table id="t-rejections">
            <thead><tr><th>When</th><th>Contributor</th><th>Reason</th></tr></thead>
            <tbody></tbody>
          </table></div>
          <p class="empty" id="rej-empty">No update was rejected.</p>
        </section>
        <section class="card span-12">
          <header><h2>Admin actions</h2><span class="hint">logged in the run history</span></header>
          <form class="inline-form" id="revoke-form">
            <label for="revoke-token">Revoke a contributor token</label>
            <input id="revoke-token" type="password" placeholder="contributor token" autocomplete="off" spellcheck="false">
            <button class="btn btn-danger" type="submit">Revoke</button>
            <span class="muted" id="revoke-note"></span>
          </form>
          <div class="table-wrap scroll"><table id="t-actions">
            <thead><tr><th>When</th><th>Action</th><th>Target</th><th>By</th><th>Result</th></tr></thead>
            <tbody></tbody>
          </table></div>
          <p class="empty" id="actions-empty">No admin action yet.</p>
        </section>
      </div>
    </section>
  </main>
  <div class="toasts" id="toasts" aria-live="polite"></div>
</body>
</html>
`;
}
