import { redactedConfig } from '../config';
import type { BridgeService } from '../service/bridgeService';
import { explorerStudyUrl } from '../service/studyState';

type Proof = Awaited<ReturnType<BridgeService['status']>>['destinations'][number]['proves'];

/** What each destination's confirmation proves, in an operator's words. */
const PROOF_TEXT: Record<Proof, string> = {
  bytes: 'the bytes sent (MD5)',
  presence: 'presence only',
  commitment: 'storage commitment (the peer took responsibility)',
  nothing: 'nothing (the store status only)',
};

function esc(v: unknown): string {
  return String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d2733;background:#f7f8fa}
h1{font-size:1.4rem;margin:0 0 1rem} h2{font-size:1.05rem;margin:1.6rem 0 .5rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:.6rem .9rem;min-width:8rem}
.card b{display:block;font-size:1.3rem}table{border-collapse:collapse;background:#fff;width:100%}
td,th{border:1px solid #dde2e8;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eef1f5}
.state-done{color:#17803d}.state-quarantined,.state-failed{color:#b42318}.state-running,.state-queued{color:#175cd3}
form{display:inline}button{cursor:pointer}pre{background:#fff;border:1px solid #dde2e8;padding:.6rem;overflow:auto;max-height:24rem}
code{font-size:12px}`;

/** The admin page: what the bridge did and why, at a glance. Server-rendered; no patient values. */
export async function renderAdminPage(app: BridgeService, csrf: string, role: string): Promise<string> {
  const cfg = app.cfg;
  const status = await app.status();
  const jobs = status.jobs;
  const feed = status.feed;
  const lastHour = await app.pushedSince(new Date(Date.now() - 3_600_000).toISOString());
  const running = app.running();
  const recent = await app.jobs({ limit: 25 });
  const quarantine = await app.quarantine({ limit: 200 });
  const summary = await app.quarantineSummary();
  const actions = await app.adminActions(25);
  const links = new Map<string, string>();
  for (const j of recent) {
    if (links.has(j.studyId)) continue;
    const state = await app.studyState(j.studyId);
    links.set(
      j.studyId,
      state.destinations.map((d) => `<a href="${esc(d.explorerUrl)}">${esc(d.destination)}</a>`).join(' '),
    );
  }
  const canAct = role === 'admin';
  const card = (label: string, value: unknown, id: string): string =>
    `<div class="card" id="${id}">${esc(label)}<b>${esc(value)}</b></div>`;
  const researchLinks = (studyId: string): string => links.get(studyId) ?? '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>orthanc-research-bridge</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>
<h1>orthanc-research-bridge</h1>
<div class="cards">
${card('change feed cursor', `${feed.cursor} / ${feed.orthancLast ?? '?'}`, 'feed-cursor')}
${card('feed lag (changes)', feed.lag ?? '?', 'feed-lag')}
${card('queued', jobs.queued, 'jobs-queued')}${card('running', jobs.running, 'jobs-running')}
${card('done', jobs.done, 'jobs-done')}${card('quarantined studies', jobs.quarantined, 'jobs-quarantined')}
${card('failed', jobs.failed, 'jobs-failed')}${card('skipped', jobs.skipped, 'jobs-skipped')}
${card('instances in quarantine', status.quarantinedInstances, 'quarantine-open')}
${card('pushed in the last hour', `${lastHour} (${(lastHour / 60).toFixed(1)}/min)`, 'throughput')}
</div>
${feed.lastError ? `<p class="state-failed">Last change-log error: ${esc(feed.lastError)}</p>` : ''}
<h2>Destinations</h2>
<table id="destinations"><tr><th>destination</th><th>kind</th><th>confirms</th></tr>${status.destinations
    .map(
      (d) =>
        `<tr data-destination="${esc(d.name)}"><td><code>${esc(d.name)}</code></td><td>${esc(d.kind)}</td><td>${esc(PROOF_TEXT[d.proves])}</td></tr>`,
    )
    .join('')}</table>
<h2>Replicas</h2>
<p>State: ${esc(status.state.store)} (<code>${esc(status.state.location)}</code>). This page is served by <code>${esc(status.replica.id)}</code>.</p>
<table id="replicas"><tr><th>replica</th><th>role</th><th>alive</th><th>running jobs</th><th>last seen</th><th>started</th><th>API</th></tr>${status.replicas
    .map(
      (r) =>
        `<tr data-replica="${esc(r.id)}"><td><code>${esc(r.id)}</code>${r.self ? ' (this one)' : ''}</td><td>${esc(r.role)}</td><td class="${r.alive ? 'state-done' : 'state-failed'}">${r.alive ? 'yes' : 'no'}</td><td>${r.runningJobs}</td><td>${esc(r.lastSeen)}</td><td>${esc(r.startedAt)}</td><td>${esc(r.api ?? '')}</td></tr>`,
    )
    .join('')}</table>
<h2>Running</h2>
${
  running.length === 0
    ? '<p>Nothing running.</p>'
    : `<table id="running"><tr><th>job</th><th>study</th><th>destination</th><th>progress</th></tr>${running
        .map(
          ([id, p]) =>
            `<tr><td>${id}</td><td><code>${esc(p.studyId)}</code></td><td>${esc(p.destination)}</td><td>${p.done} / ${p.total}</td></tr>`,
        )
        .join('')}</table>`
}
<h2>Recent studies</h2>
<table id="recent"><tr><th>job</th><th>state</th><th>trigger</th><th>clinical study</th><th>research</th><th>pseudonym</th><th>instances</th><th>reason</th><th>finished</th></tr>
${recent
  .map(
    (
      j,
    ) => `<tr><td>${j.id}</td><td class="state-${esc(j.state)}">${esc(j.state)}</td><td>${esc(j.trigger)}${j.mode === 'reprocess' ? ' (reprocess)' : ''}</td>
<td><a href="${esc(explorerStudyUrl(cfg.source.explorerUrl, j.studyId))}"><code>${esc(j.studyId)}</code></a></td><td>${researchLinks(j.studyId)}</td>
<td><code>${esc(j.pseudonym ?? '')}</code></td><td>${j.instancesTotal ?? ''}</td><td>${esc(j.reason ?? '')}</td><td>${esc(j.finishedAt ?? '')}</td></tr>`,
  )
  .join('')}
</table>
<h2>Quarantine</h2>
${
  summary.length === 0
    ? ''
    : `<table id="quarantine-summary"><tr><th>instances</th><th>check</th><th>reason (element and kind of value)</th></tr>${summary
        .map((s) => `<tr><td>${s.count}</td><td>${esc(s.check)}</td><td>${esc(s.reason)}</td></tr>`)
        .join('')}</table>`
}
${
  quarantine.length === 0
    ? '<p id="quarantine-empty">No instance in quarantine.</p>'
    : `<table id="quarantine"><tr><th>#</th><th>clinical study</th><th>instance</th><th>destination</th><th>check</th><th>reason</th><th></th></tr>${quarantine
        .map(
          (
            q,
          ) => `<tr data-id="${q.id}"><td>${q.id}</td><td><code>${esc(q.studyId)}</code></td><td><code>${esc(q.sourceId)}</code></td><td>${esc(q.destination)}</td>
<td>${esc(q.check)} ${esc(q.tag ?? '')}</td><td>${esc(q.reason)}</td><td>${
            canAct
              ? `<a href="${esc(`${cfg.source.explorerUrl.replace(/\/+$/, '')}/app/explorer.html#instance?uuid=${encodeURIComponent(q.sourceId)}`)}" class="original" aria-label="The original of quarantine entry ${q.id} in the clinical Orthanc Explorer">original</a> `
              : ''
          }${
            canAct
              ? `${app.pictured(q.check) ? `<a href="admin/quarantine/${q.id}/picture.png" class="picture" aria-label="Picture of the masked candidate of quarantine entry ${q.id}">picture</a> ` : ''}${app.headerOnly(q.check) ? `<a href="admin/quarantine/${q.id}/elements" class="elements" aria-label="Element table of the candidate of quarantine entry ${q.id}">elements</a> ` : ''}<form method="post" action="admin/quarantine/${q.id}/release"><input type="hidden" name="csrf" value="${esc(csrf)}"><button name="release">Release</button></form>
<form method="post" action="admin/quarantine/${q.id}/discard"><input type="hidden" name="csrf" value="${esc(csrf)}"><button name="discard">Discard</button></form>`
              : 'admin only'
          }</td></tr>`,
        )
        .join('')}</table>`
}
<h2>Admin actions</h2>
${
  actions.length === 0
    ? '<p id="admin-actions-empty">No admin action yet.</p>'
    : `<table id="admin-actions"><tr><th>when</th><th>action</th><th>who</th><th>on what</th><th>outcome</th></tr>${actions
        .map(
          (a) =>
            `<tr><td>${esc(a.at)}</td><td>${esc(a.action)}</td><td>${esc(a.actor)}</td><td>${esc(a.target ?? a.pseudonym)}</td><td>${esc(a.outcome)}</td></tr>`,
        )
        .join('')}</table>`
}
<h2>Review</h2>
<p><a href="admin/plots" id="plots-link">Plots</a>: carried and quarantined per hour, quarantine by check, masked shares.</p>
<p><a href="admin/masked" id="masked-gallery">Masked images</a>: the instances carried with pixel masks, as pictures${canAct ? ', with Recall' : ' (admin)'}.</p>
<h2>Downloads</h2>
<p><a href="api/reports?format=csv">audit report (CSV)</a> · <a href="api/reports?format=json">audit report (JSON)</a> ·
<a href="api/metadata?format=csv">metadata export (CSV)</a> · <a href="api/metadata?format=json">metadata export (JSON)</a></p>
<h2>Active configuration</h2>
<pre id="config">${esc(JSON.stringify(redactedConfig(cfg), null, 2))}</pre>
<p><small>Signed in as ${esc(role)}. Key version ${esc(app.keyVersion())}.</small></p>
</body></html>`;
}

/** Masked images per gallery page. */
export const GALLERY_PAGE = 24;

/**
 * The gallery of carried instances whose pixels were masked: newest first, one page, each a
 * picture of its research copy with the masks outlined (text alternative: modality-free facts, the
 * share masked and the regions, never text read from the image), and Recall where the destination
 * can delete.
 */
export async function renderMaskedGallery(
  app: BridgeService,
  csrf: string,
  opts: { page: number; days: number },
): Promise<string> {
  const { total, rows } = await app.maskedGallery({
    days: opts.days,
    page: opts.page,
    perPage: GALLERY_PAGE,
  });
  const deletable = new Map(
    (await app.status()).destinations.map((d) => [d.name, d.kind === 'orthanc' || d.kind === 'folder']),
  );
  const pages = Math.max(1, Math.ceil(total / GALLERY_PAGE));
  const link = (page: number, label: string) =>
    `<a href="masked?page=${page}&amp;days=${opts.days}" rel="${page < opts.page ? 'prev' : 'next'}">${esc(label)}</a>`;
  const items = rows
    .map((r) => {
      const share = `${(r.maskedShare * 100).toFixed(1)}%`;
      const alt = `Research copy of a carried instance on ${r.destination}: ${share} of a frame masked in ${r.maskedRegions} region${r.maskedRegions === 1 ? '' : 's'}, outlined in magenta`;
      const src = `preview/${encodeURIComponent(r.destination)}/${encodeURIComponent(r.sourceId)}.png?size=256`;
      const recall = deletable.get(r.destination)
        ? `<form method="post" action="masked/${encodeURIComponent(r.destination)}/${encodeURIComponent(r.sourceId)}/recall"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" aria-label="Recall this instance from ${esc(r.destination)}">Recall</button></form>`
        : `<span>${esc(r.destination)} cannot delete: no recall</span>`;
      return `<figure data-instance="${esc(r.sourceId)}" data-destination="${esc(r.destination)}"><img src="${esc(src)}" alt="${esc(alt)}" width="256" loading="lazy"><figcaption>${esc(share)} masked, ${esc(r.maskedRegions)} region(s), ${esc(r.destination)}, ${esc(r.updatedAt)}<br>${recall}</figcaption></figure>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Masked images - orthanc-research-bridge</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}
.gallery{display:flex;flex-wrap:wrap;gap:.8rem}figure{margin:0;background:#fff;border:1px solid #dde2e8;padding:.4rem;width:260px}figcaption{font-size:12px}</style></head><body>
<h1>Masked images</h1>
<p><a href="../admin">Back to the admin page</a>. ${esc(total)} instance(s) carried with pixel masks in the last ${esc(opts.days)} day(s), newest first; page ${esc(opts.page + 1)} of ${esc(pages)}. Each picture is the copy on research, its masks outlined in magenta.</p>
<nav aria-label="pages">${opts.page > 0 ? link(opts.page - 1, 'newer') : ''} ${opts.page + 1 < pages ? link(opts.page + 1, 'older') : ''}</nav>
<div class="gallery" id="gallery">${items || '<p>No masked image in this period.</p>'}</div>
</body></html>`;
}

/**
 * The element table of a quarantined candidate (header checks): every element by path, keyword, VR
 * and size, never a value; the elements the gate failed marked, with the check and its reason
 * (which names the element and the kind of value, never the value). Indentation shows nesting.
 */
export async function renderCandidateElements(app: BridgeService, id: number): Promise<string | undefined> {
  const r = await app.candidateElements(id);
  if ('none' in r) return undefined;
  const marked = r.rows.filter((row) => row.failures.length > 0);
  const rows = r.rows
    .map((row, i) => {
      const fail = row.failures.length > 0;
      return `<tr${fail ? ` class="fail" id="fail-${i}"` : ''}><td style="padding-left:${0.4 + row.depth * 1.2}rem"><code>${esc(row.path)}</code></td><td>${esc(row.keyword)}</td><td>${esc(row.vr)}</td><td>${esc(row.holds)}</td><td>${fail ? `<strong>${row.failures.map(esc).join('<br>')}</strong>` : ''}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Quarantine entry ${esc(id)}: elements of the candidate - orthanc-research-bridge</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}
tr.fail{background:#fde2e2}tr.fail td{border-top:2px solid #b3261e}</style></head><body>
<h1>Quarantine entry ${esc(id)}: elements of the candidate</h1>
<p><a href="../../../admin">Back to the admin page</a>. The candidate is the original read from the clinical Orthanc and de-identified again under the profile; the gate ran on it again. Elements are listed by path, keyword, VR and size: no value is shown.</p>
<h2>What the gate found</h2>
<ul id="failed">${marked.length === 0 ? '<li>The gate passes this candidate now (the profile or the original changed since it was quarantined).</li>' : marked.map((row) => `<li><a href="#fail-${r.rows.indexOf(row)}"><code>${esc(row.path)}</code> ${esc(row.keyword)}</a>${row.absent ? ' (absent from the candidate)' : ''}: ${row.failures.map(esc).join('; ')}</li>`).join('')}</ul>
<h2>Elements</h2>
<table id="elements"><caption>${esc(r.rows.length)} element(s)${r.more > 0 ? `, ${esc(r.more)} more not shown` : ''}; ${esc(r.failures)} failure(s), marked</caption>
<tr><th scope="col">element</th><th scope="col">keyword</th><th scope="col">VR</th><th scope="col">holds</th><th scope="col">gate</th></tr>
${rows}</table>
</body></html>`;
}

/** The plots page: charts drawn by uPlot from api/plots, each with its table for screen readers. */
export function renderPlotsPage(days: number): string {
  const section = (id: string, title: string) =>
    `<h2>${esc(title)}</h2><div id="plot-${id}" aria-hidden="true"></div><details><summary>${esc(title)} as a table</summary><div id="table-${id}"></div></details>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Plots - orthanc-research-bridge</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="stylesheet" href="assets/uPlot.min.css"><style>${STYLE}</style></head><body>
<h1>Plots</h1>
<p><a href="../admin">Back to the admin page</a>. The last ${esc(days)} day(s), from the shared store (every replica draws the same). The change feed's lag now is on the admin page and in <code>/metrics</code>; its history, per hour, is the last plot.</p>
<p id="plots-error" role="alert"></p>
${section('hourly', 'Instances carried and quarantined per hour')}
${section('checks', 'Open quarantine by check')}
${section('masked', 'Carried masked images by the share of a frame masked')}
${section('lag', "The change feed's largest lag per hour (changes the clinical Orthanc had that the bridge had not read)")}
<script src="assets/uPlot.iife.min.js"></script><script src="assets/plots.js"></script>
</body></html>`;
}
