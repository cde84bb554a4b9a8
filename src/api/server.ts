import express, { type NextFunction, type Request, type Response } from 'express';
import type { BridgeApp } from '../app';
import { safeMessage } from '../errors';
import { listJobs, type JobState } from '../store/jobs';

const ORTHANC_ID = /^[0-9a-f]{8}(-[0-9a-f]{8}){4}$/;
const STATES = new Set(['queued', 'running', 'done', 'quarantined', 'failed', 'skipped']);

/** The bridge's HTTP API. Answers carry Orthanc IDs, pseudonyms and counts, never DICOM values. */
export function createApi(app: BridgeApp): express.Express {
  const api = express();
  api.disable('x-powered-by');

  api.get('/healthz', (_req, res) => {
    res.json({ ok: true });
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

  api.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    app.log.warn('API request failed', { error: safeMessage(err) });
    res.status(502).json({ error: safeMessage(err) });
  });
  return api;
}
