import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { BridgeApp } from '../app';
import { registerGauges, registry } from '../metrics';
import { renderAdminPage } from './adminPage';
import { FailureThrottle, requireRole, sameSecret, type Role } from './auth';
import { studyState } from './studyState';
import { safeMessage } from '../errors';
import { discard, releaseQuarantine } from '../pipeline/admin';
import { auditCsv, metadataCsv, metadataJson } from '../reports/format';
import { listAudit } from '../store/audit';
import { countQuarantine, getQuarantine, listQuarantine, openQuarantineReasons } from '../store/instances';
import { summarizeReasons } from '../verify/types';
import { countJobsByState, listJobs, type JobState } from '../store/jobs';
import { listMetadata } from '../store/metadata';

const ORTHANC_ID = /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/;
const STATES = new Set(['queued', 'running', 'done', 'quarantined', 'failed', 'skipped']);

function format(req: Request): 'json' | 'csv' | undefined {
  const f = req.query.format ?? 'json';
  return f === 'json' || f === 'csv' ? f : undefined;
}

function sinceParam(req: Request): string | null | undefined {
  const s = req.query.since;
  if (s === undefined) return null;
  if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) return undefined;
  return new Date(s).toISOString();
}

/** The bridge's HTTP API. Answers carry Orthanc IDs, pseudonyms and counts, never DICOM values. */
export function createApi(app: BridgeApp): express.Express {
  const api = express();
  api.disable('x-powered-by');
  const throttle = new FailureThrottle(app.cfg.api.failureDelayMs, app.cfg.api.failureDelayMaxMs);
  const creds = (): BridgeApp['cfg']['credentials'] => app.cfg.credentials;
  const operator = requireRole('operator', creds, throttle, () => app.log);
  const admin = requireRole('admin', creds, throttle, () => app.log);
  // Anti-CSRF token for the admin page's forms: a cross-site page cannot read it.
  const csrf = randomBytes(24).toString('hex');
  registerGauges(() => {
    const j = countJobsByState(app.db);
    return {
      queueDepth: j.queued + j.running,
      quarantineOpen: countQuarantine(app.db),
      feedLag: app.feed.snapshot().lag,
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

  api.use(['/api', '/admin'], operator);
  api.post(
    ['/api/quarantine/:id/release', '/api/quarantine/:id/discard', '/admin/quarantine/:id/:action'],
    admin,
  );

  api.get('/admin', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res.type('html').send(renderAdminPage(app, csrf, (req as Request & { role?: Role }).role ?? 'operator'));
  });

  api.post(
    '/admin/quarantine/:id/:action',
    express.urlencoded({ extended: false, limit: '4kb' }),
    (req, res) => {
      const token = typeof req.body?.csrf === 'string' ? (req.body.csrf as string) : '';
      if (!sameSecret(token, csrf)) {
        res.status(403).json({ error: 'the form is stale or not from the admin page; reload it' });
        return;
      }
      const id = Number(req.params.id);
      const action = req.params.action;
      if (!Number.isInteger(id) || (action !== 'release' && action !== 'discard')) {
        res.status(400).json({ error: 'unknown action' });
        return;
      }
      const ok =
        action === 'release' ? releaseQuarantine(app.db, id).released : discard(app.db, id).discarded;
      app.log.info(`quarantine entry ${action === 'release' ? 'released' : 'discarded'}`, {
        quarantineId: id,
        via: 'admin page',
        done: ok,
      });
      app.worker.wake();
      res.redirect(303, '../../../admin');
    },
  );

  api.get('/api/studies/:orthancId', (req, res) => {
    const id = String(req.params.orthancId);
    if (!ORTHANC_ID.test(id)) {
      res.status(400).json({ error: 'orthancId must be an Orthanc study ID (five groups of 8 hex digits)' });
      return;
    }
    res.json(studyState(app.db, app.cfg, id));
  });

  api.get('/api/status', (_req, res) => {
    res.json(app.status());
  });

  api.get('/api/jobs', (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    if (state !== undefined && !STATES.has(state)) {
      res.status(400).json({ error: `state must be one of ${[...STATES].join(', ')}` });
      return;
    }
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const studyId = typeof req.query.study === 'string' ? req.query.study : undefined;
    res.json(listJobs(app.db, { state: state as JobState | undefined, studyId, limit }));
  });

  api.post('/api/studies/:orthancId/process', async (req, res, next) => {
    try {
      const id = String(req.params.orthancId);
      if (!ORTHANC_ID.test(id)) {
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

  api.get('/api/quarantine/summary', (_req, res) => {
    res.json(summarizeReasons(openQuarantineReasons(app.db)));
  });
  api.get('/api/quarantine', (req, res) => {
    res.json(listQuarantine(app.db, { includeDiscarded: req.query.all === '1' || req.query.all === 'true' }));
  });

  const quarantineId = (req: Request, res: Response): number | undefined => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) {
      res.status(400).json({ error: 'id must be a quarantine entry number' });
      return undefined;
    }
    return id;
  };

  api.get('/api/quarantine/:id', (req, res) => {
    const id = quarantineId(req, res);
    if (id === undefined) return;
    const q = getQuarantine(app.db, id);
    if (!q) res.status(404).json({ error: 'no such quarantine entry' });
    else res.json(q);
  });

  // Release queues the study again (202: the work follows); discard is done at once.
  api.post(['/api/quarantine/:id/release', '/api/quarantine/:id/discard'], (req, res) => {
    const id = quarantineId(req, res);
    if (id === undefined) return;
    const release = req.path.endsWith('/release');
    const r = release ? releaseQuarantine(app.db, id) : discard(app.db, id);
    if (!('released' in r ? r.released : r.discarded)) {
      res.status(404).json({ error: 'no open quarantine entry with this id' });
      return;
    }
    app.log.info(`quarantine entry ${release ? 'released' : 'discarded'}`, {
      quarantineId: id,
      study: r.studyId,
      via: 'api',
    });
    app.worker.wake();
    res.status(release ? 202 : 200).json(r);
  });

  api.get('/api/reports', (req, res) => {
    const f = format(req);
    const since = sinceParam(req);
    if (!f || since === undefined) {
      res.status(400).json({ error: 'format must be json or csv; since must be a date such as 2026-01-31' });
      return;
    }
    const records = listAudit(app.db, { since: since ?? undefined });
    if (f === 'csv') res.type('text/csv').send(auditCsv(records));
    else res.json(records);
  });

  api.get('/api/metadata', (req, res) => {
    const f = format(req);
    if (!f) {
      res.status(400).json({ error: 'format must be json or csv' });
      return;
    }
    const rows = listMetadata(app.db, {
      sourceStudyId: typeof req.query.study === 'string' ? req.query.study : undefined,
    });
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
