import { randomBytes } from 'node:crypto';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { BridgeService, JobState } from '../service/bridgeService';
import { registerGauges, registry } from './prometheus';
import { renderAdminPage, renderCandidateElements, renderMaskedGallery, renderPlotsPage } from './adminPage';
import {
  actorOf,
  crossSiteRefusal,
  FailureThrottle,
  RefusalLog,
  requireRole,
  sameSecret,
  type Role,
} from './auth';
import { safeMessage } from '../errors';
import { auditCsv, metadataCsv, metadataJson } from '../reports/format';

/** The files the plots page loads: uPlot (MIT, from node_modules) and the page's own script (web/). */
const ROOT = path.resolve(__dirname, '../..');
const ASSETS: Readonly<Record<string, string>> = {
  'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
  'plots.js': path.join(ROOT, 'web', 'plots.js'),
};
import { isOrthancId } from '../orthanc/ids';

const STATES = new Set(['queued', 'running', 'done', 'quarantined', 'failed', 'skipped']);

function format(req: Request): 'json' | 'csv' | undefined {
  const f = req.query.format ?? 'json';
  return f === 'json' || f === 'csv' ? f : undefined;
}

/**
 * A page of a list: `limit` (default api.pageSize, at most 100 times it) and `offset`. The answer
 * carries `X-Next-Offset` while more rows follow. Undefined when the parameters are not numbers.
 */
function pageParams(req: Request, pageSize: number): { limit: number; offset: number } | undefined {
  const limit = req.query.limit === undefined ? pageSize : Number(req.query.limit);
  const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > pageSize * 100) return undefined;
  if (!Number.isInteger(offset) || offset < 0) return undefined;
  return { limit, offset };
}

/** Sends one page: rows asked for with one more than the limit tell whether another page follows. */
function paged<T>(res: Response, page: { limit: number; offset: number }, rows: T[]): T[] {
  if (rows.length > page.limit) res.set('X-Next-Offset', String(page.offset + page.limit));
  return rows.slice(0, page.limit);
}

function sinceParam(req: Request): string | null | undefined {
  const s = req.query.since;
  if (s === undefined) return null;
  if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) return undefined;
  return new Date(s).toISOString();
}

/** The bridge's HTTP API. Answers carry Orthanc IDs, pseudonyms and counts, never DICOM values. */
export function createApi(app: BridgeService): express.Express {
  const api = express();
  api.disable('x-powered-by');
  const throttle = new FailureThrottle(
    app.cfg.api.failureDelayMs,
    app.cfg.api.failureDelayMaxMs,
    app.cfg.api.globalFailuresPerMinute,
  );
  const refusals = new RefusalLog();
  const creds = (): BridgeService['cfg']['credentials'] => app.cfg.credentials;
  const operator = requireRole('operator', creds, throttle, () => app.log, refusals);
  const admin = requireRole('admin', creds, throttle, () => app.log, refusals);
  // Anti-CSRF token for the admin page's forms: a cross-site page cannot read it.
  const csrf = randomBytes(24).toString('hex');
  registerGauges(async () => {
    const s = await app.status();
    return {
      queueDepth: s.jobs.queued + s.jobs.running,
      quarantineOpen: s.quarantinedInstances,
      feedLag: s.feed.lag,
      replicas: s.replicas,
      destinations: s.destinations,
    };
  });

  api.get(
    '/healthz',
    (req, res, next) => (app.cfg.api.openHealth ? next() : operator(req, res, next)),
    (_req, res) => {
      res.json({ ok: true });
    },
  );

  api.get(
    '/metrics',
    (req, res, next) => (app.cfg.api.openMetrics ? next() : operator(req, res, next)),
    async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    },
  );

  /** An admin page's form: its body read (4 kB at most) and its anti-CSRF token checked. */
  const adminForm = [
    express.urlencoded({ extended: false, limit: '4kb' }),
    (req: Request, res: Response, next: NextFunction) => {
      const token = typeof req.body?.csrf === 'string' ? (req.body.csrf as string) : '';
      if (sameSecret(token, csrf)) return next();
      res.status(403).json({ error: 'the form is stale or not from the admin page; reload it' });
    },
  ];

  // A browser's cross-site request never reaches a state-changing route, whatever it carries.
  api.use(['/api', '/admin'], (req, res, next) => {
    const why = crossSiteRefusal(req);
    if (!why) return next();
    if (refusals.note(`cross-site ${req.socket.remoteAddress ?? ''}`, app.log))
      app.log.warn('cross-site request refused', { method: req.method, route: req.path, reason: why });
    res.status(403).json({ error: 'cross-site requests are refused on this route' });
  });
  api.use(['/api', '/admin'], operator);
  api.post(
    ['/api/quarantine/:id/release', '/api/quarantine/:id/discard', '/admin/quarantine/:id/:action'],
    admin,
  );
  // The review pages show research copies: admin only, never cached, never logged by value.
  api.use(['/admin/masked', '/admin/preview'], admin);
  // The plots: counts only (operators too); the charting library and our script, served here.
  api.get('/admin/plots', (req, res) => {
    const days = Math.max(1, Math.min(90, Number.parseInt(String(req.query.days ?? '7'), 10) || 7));
    res.set('Cache-Control', 'no-store');
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    );
    res.type('html').send(renderPlotsPage(days));
  });
  api.get('/admin/api/plots', async (req, res) => {
    const days = Math.max(1, Math.min(90, Number.parseInt(String(req.query.days ?? '7'), 10) || 7));
    res.json(await app.plots(days));
  });
  api.get('/admin/assets/:file', (req, res) => {
    const file = ASSETS[String(req.params.file)];
    if (!file) {
      res.status(404).json({ error: 'no such asset' });
      return;
    }
    res.set('Cache-Control', 'max-age=3600');
    res.sendFile(file);
  });

  api.get('/admin/quarantine/:id/picture.png', admin, async (req, res) => {
    const id = Number(req.params.id);
    const size = Math.max(32, Math.min(1024, Number.parseInt(String(req.query.size ?? '512'), 10) || 512));
    const p = Number.isInteger(id) && id > 0 ? await app.candidatePreview(id, size) : { none: 'not-open' };
    if ('none' in p) {
      res.status(404).json({ error: `no picture: ${p.none}` });
      return;
    }
    res.set('Cache-Control', 'no-store');
    res.type('png').send(p.png);
  });

  api.get('/admin/quarantine/:id/elements', admin, async (req, res) => {
    const id = Number(req.params.id);
    const html = Number.isInteger(id) && id > 0 ? await renderCandidateElements(app, id) : undefined;
    if (html === undefined) {
      res.status(404).json({ error: 'no element table: the entry is not open or not a header check' });
      return;
    }
    res.set('Cache-Control', 'no-store');
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res.type('html').send(html);
  });

  api.get('/admin/masked', async (req, res) => {
    const page = Math.max(0, Math.min(100_000, Number.parseInt(String(req.query.page ?? '0'), 10) || 0));
    const days = Math.max(1, Math.min(3650, Number.parseInt(String(req.query.days ?? '7'), 10) || 7));
    res.set('Cache-Control', 'no-store');
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res.type('html').send(await renderMaskedGallery(app, csrf, { page, days }));
  });

  api.get('/admin/preview/:destination/:file', async (req, res) => {
    const sourceId = /^([0-9a-f-]{1,64})\.png$/.exec(String(req.params.file))?.[1];
    const size = Math.max(32, Math.min(1024, Number.parseInt(String(req.query.size ?? '512'), 10) || 512));
    if (!sourceId || !app.cfg.destinations[String(req.params.destination)]) {
      res.status(404).json({ error: 'no such preview' });
      return;
    }
    const p = await app.preview(String(req.params.destination), sourceId, size);
    if ('none' in p) {
      res.status(404).json({ error: `no preview: ${p.none}` });
      return;
    }
    res.set('Cache-Control', 'no-store');
    res.type('png').send(p.png);
  });

  api.post('/admin/masked/:destination/:sourceId/recall', adminForm, async (req: Request, res: Response) => {
    const destination = String(req.params.destination);
    if (!app.cfg.destinations[destination]) {
      res.status(404).json({ error: 'no such destination' });
      return;
    }
    const r = await app.recall(destination, String(req.params.sourceId), actorOf(req, 'admin-page'));
    if (r === 'not-masked') res.status(404).json({ error: 'no carried masked instance with this id' });
    else if (r === 'cannot-delete')
      res.status(409).json({ error: `${destination} cannot delete an instance: recall it there by hand` });
    else res.redirect(303, '../../../../admin/masked');
  });

  api.get('/admin', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res
      .type('html')
      .send(await renderAdminPage(app, csrf, (req as Request & { role?: Role }).role ?? 'operator'));
  });

  api.post('/admin/quarantine/:id/:action', adminForm, async (req: Request, res: Response) => {
    const id = Number(req.params.id);
    const action = req.params.action;
    if (!Number.isInteger(id) || (action !== 'release' && action !== 'discard')) {
      res.status(400).json({ error: 'unknown action' });
      return;
    }
    const actor = actorOf(req, 'admin-page');
    if (action === 'release') await app.release(id, actor);
    else await app.discard(id, actor);
    res.redirect(303, '../../../admin');
  });

  api.get('/api/studies/:orthancId', async (req, res) => {
    const id = String(req.params.orthancId);
    if (!isOrthancId(id)) {
      res.status(400).json({ error: 'orthancId must be an Orthanc study ID (five groups of 8 hex digits)' });
      return;
    }
    res.json(await app.studyState(id));
  });

  api.get('/api/status', async (_req, res) => {
    res.json(await app.status());
  });

  api.get('/api/jobs', async (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    if (state !== undefined && !STATES.has(state)) {
      res.status(400).json({ error: `state must be one of ${[...STATES].join(', ')}` });
      return;
    }
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const studyId = typeof req.query.study === 'string' ? req.query.study : undefined;
    res.json(await app.jobs({ state: state as JobState | undefined, studyId, limit }));
  });

  api.post('/api/studies/:orthancId/process', async (req, res, next) => {
    try {
      const id = String(req.params.orthancId);
      if (!isOrthancId(id)) {
        res
          .status(400)
          .json({ error: 'orthancId must be an Orthanc study ID (five groups of 8 hex digits)' });
        return;
      }
      const r = await app.queueStudy(id, 'api');
      if (!r.known) {
        res.status(404).json({ error: 'no such study in the clinical Orthanc' });
        return;
      }
      res.status(202).json({ queued: r.queued, alreadyQueued: !r.queued });
    } catch (err) {
      next(err);
    }
  });

  api.get('/api/quarantine/summary', async (_req, res) => {
    res.json(await app.quarantineSummary());
  });
  api.get('/api/quarantine', async (req, res) => {
    res.json(await app.quarantine({ includeDiscarded: req.query.all === '1' || req.query.all === 'true' }));
  });

  const quarantineId = (req: Request, res: Response): number | undefined => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) {
      res.status(400).json({ error: 'id must be a quarantine entry number' });
      return undefined;
    }
    return id;
  };

  api.get('/api/quarantine/:id', async (req, res) => {
    const id = quarantineId(req, res);
    if (id === undefined) return;
    const q = await app.quarantineEntry(id);
    if (!q) res.status(404).json({ error: 'no such quarantine entry' });
    else res.json(q);
  });

  // Release queues the study again (202: the work follows); discard is done at once.
  api.post(['/api/quarantine/:id/release', '/api/quarantine/:id/discard'], async (req, res) => {
    const id = quarantineId(req, res);
    if (id === undefined) return;
    const release = req.path.endsWith('/release');
    const actor = actorOf(req, 'api');
    const r = release ? await app.release(id, actor) : await app.discard(id, actor);
    if (!('released' in r ? r.released : r.discarded)) {
      res.status(404).json({ error: 'no open quarantine entry with this id' });
      return;
    }
    res.status(release ? 202 : 200).json(r);
  });

  api.get('/api/reports', async (req, res) => {
    const f = format(req);
    const since = sinceParam(req);
    const page = pageParams(req, app.cfg.api.pageSize);
    if (!f || since === undefined || !page) {
      res.status(400).json({
        error: `format must be json or csv; since must be a date such as 2026-01-31; limit 1 to ${app.cfg.api.pageSize * 100}; offset 0 or more`,
      });
      return;
    }
    const records = paged(
      res,
      page,
      await app.auditRecords({ since: since ?? undefined, limit: page.limit + 1, offset: page.offset }),
    );
    if (f === 'csv') res.type('text/csv').send(auditCsv(records));
    else res.json(records);
  });

  api.get('/api/metadata', async (req, res) => {
    const f = format(req);
    const page = pageParams(req, app.cfg.api.pageSize);
    if (!f || !page) {
      res.status(400).json({
        error: `format must be json or csv; limit 1 to ${app.cfg.api.pageSize * 100}; offset 0 or more`,
      });
      return;
    }
    const rows = paged(
      res,
      page,
      await app.metadata({
        sourceStudyId: typeof req.query.study === 'string' ? req.query.study : undefined,
        limit: page.limit + 1,
        offset: page.offset,
      }),
    );
    const keywords = app.cfg.export.metadataTags.map((t) => t.keyword);
    if (f === 'csv') res.type('text/csv').send(metadataCsv(rows, keywords));
    else res.json(metadataJson(rows, keywords));
  });

  api.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    app.log.warn('API request failed', { error: safeMessage(err) });
    res.status(502).json({ error: safeMessage(err) });
  });
  return api;
}
