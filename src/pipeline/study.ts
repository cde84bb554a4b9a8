import { isRetryable, safeMessage } from '../errors';
import { instancesOfStudy, recordPushed, recordQuarantined } from '../store/instances';
import { finishJob, type Job, type JobOutcome } from '../store/jobs';
import { mapPool } from '../util/timing';
import { outputFingerprint, type StageContext } from './context';
import { processInstance } from './instance';

export interface StudyResult extends JobOutcome {
  readonly transientError?: string;
}

/**
 * Carries one study across: every instance not already carried under the same fingerprint goes
 * through pull -> de-identify -> verify -> push, N at a time. Progress is saved per instance, so
 * a crash or a transient fault resumes where it stopped. Ends with the study check and the mark
 * on the clinical study.
 */
export async function processStudy(job: Job, ctx: StageContext): Promise<StudyResult> {
  const log = ctx.log.child({ jobId: job.id, study: job.studyId });
  const study = await ctx.source.study(job.studyId);
  if (!study) return { state: 'skipped', reason: 'the study is no longer in the clinical Orthanc' };
  for (const key of ['AnonymizedFrom', 'ModifiedFrom']) {
    if ((await ctx.source.metadata('studies', job.studyId, key)) !== undefined) {
      log.info('skipping a study Orthanc made itself', { origin: key });
      return { state: 'skipped', reason: `made by Orthanc itself (${key})` };
    }
  }

  const fingerprint = outputFingerprint(ctx.deid);
  const ids = await ctx.source.studyInstanceIds(job.studyId);
  const known = instancesOfStudy(ctx.db, job.studyId);
  const todo = ids.filter((id) => {
    const k = known.get(id);
    return !(k && k.state === 'pushed' && k.fingerprint === fingerprint);
  });
  log.info('study started', { stage: 'list', instances: ids.length, todo: todo.length });

  let pushed = 0;
  let already = 0;
  let transient: unknown = null;
  let pseudonym: string | null = null;
  let researchStudyId: string | null = null;
  for (const k of known.values()) {
    if (k.state === 'pushed' && k.fingerprint === fingerprint) researchStudyId ??= k.researchStudyId;
  }

  await mapPool(todo, ctx.concurrency, async (instanceId) => {
    if (transient || ctx.signal.aborted) return; // stop taking new instances; the job is retried
    try {
      const outcome = await processInstance(instanceId, ctx);
      if (outcome.kind === 'pushed') {
        recordPushed(ctx.db, {
          sourceId: instanceId,
          studyId: job.studyId,
          jobId: job.id,
          researchId: outcome.researchId,
          researchStudyId: outcome.researchStudyId,
          md5: outcome.md5,
          fingerprint,
        });
        if (outcome.already) already++;
        else pushed++;
        pseudonym = outcome.patient.pseudonym;
        researchStudyId = outcome.researchStudyId;
      } else {
        recordQuarantined(ctx.db, {
          sourceId: instanceId,
          studyId: job.studyId,
          jobId: job.id,
          fingerprint,
          ...outcome,
        });
        log.warn('instance quarantined', {
          stage: 'verify',
          instance: instanceId,
          check: outcome.check,
          tag: outcome.tag,
        });
      }
    } catch (err) {
      if (isRetryable(err)) {
        transient ??= err;
        return;
      }
      // A permanent fault on this one instance (a 4xx from either server): record it, go on.
      const reason = `push: ${safeMessage(err)}`;
      recordQuarantined(ctx.db, {
        sourceId: instanceId,
        studyId: job.studyId,
        jobId: job.id,
        fingerprint,
        check: 'push',
        tag: null,
        reason,
      });
      log.warn('instance quarantined', { stage: 'push', instance: instanceId, error: safeMessage(err) });
    }
  });

  if (transient || ctx.signal.aborted) {
    return {
      state: 'failed',
      transientError: transient ? safeMessage(transient) : 'stopped before the study was finished',
    };
  }

  // Study check: every source instance is on research under this fingerprint, or in quarantine.
  const after = instancesOfStudy(ctx.db, job.studyId);
  const missing = ids.filter((id) => {
    const r = after.get(id);
    return !r || (r.state === 'pushed' && r.fingerprint !== fingerprint);
  });
  const totalQuarantined = ids.filter((id) => after.get(id)?.state === 'quarantined').length;
  const skipped = ids.length - todo.length;
  if (missing.length > 0) {
    return {
      state: 'failed',
      reason: `study check: ${missing.length} instance(s) neither pushed nor quarantined`,
      total: ids.length,
    };
  }
  const state = totalQuarantined > 0 ? 'quarantined' : 'done';
  const outcome: StudyResult = {
    state,
    researchStudyId,
    pseudonym,
    total: ids.length,
    pushed,
    already,
    skipped,
    quarantined: totalQuarantined,
    reason: totalQuarantined > 0 ? `${totalQuarantined} instance(s) in quarantine` : null,
  };
  await ctx.source.setMetadata(
    'studies',
    job.studyId,
    ctx.processedMetadataKey,
    JSON.stringify({
      state,
      researchStudyId,
      instances: ids.length,
      quarantined: totalQuarantined,
      fingerprint,
      at: new Date().toISOString(),
    }),
  );
  log.info('study finished', {
    stage: 'done',
    state,
    pushed,
    already,
    skipped,
    quarantined: totalQuarantined,
    researchStudyId,
    pseudonym,
  });
  return outcome;
}

/** Runs a claimed job to its end state, or back to the queue on a transient fault. */
export async function runJob(
  job: Job,
  ctx: StageContext,
  retry: { maxAttempts: number; delayMs: (attempt: number) => number },
  onRetry: (job: Job, notBefore: number, reason: string) => void,
): Promise<StudyResult> {
  let result: StudyResult;
  try {
    result = await processStudy(job, ctx);
  } catch (err) {
    result = isRetryable(err)
      ? { state: 'failed', transientError: safeMessage(err) }
      : { state: 'failed', reason: safeMessage(err) };
  }
  if (result.transientError !== undefined) {
    if (job.attempts < retry.maxAttempts && !ctx.signal.aborted) {
      onRetry(job, Date.now() + retry.delayMs(job.attempts), result.transientError);
      return result;
    }
    if (ctx.signal.aborted) {
      onRetry(job, 0, 'stopped by shutdown');
      return result;
    }
    result = { ...result, reason: `gave up after ${job.attempts} attempts: ${result.transientError}` };
  }
  finishJob(ctx.db, job.id, result);
  return result;
}
