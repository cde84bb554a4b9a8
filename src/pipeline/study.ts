/**
 * A study job from start to end: skip what must not go, choose the route, then for each destination
 * carry the instances (carry.ts), check the study on research (studyCheck.ts) and finalise
 * (finalise.ts); mark the source study; decide between done, retry and give up (runJob).
 */
import { performance } from 'node:perf_hooks';
import { ClaimLostError, coerceError, safeMessage } from '../errors';
import { studiesTotal } from '../metrics';
import { HELD_UNTIL_RELEASE } from '../store/inFlight';
import { instancesOfStudy } from '../store/instances';
import { finishJob, type Job, type JobOutcome, type JobState } from '../store/jobs';
import { carry, type Tally } from './carry';
import { outputFingerprint, type StageContext, type Target, type TargetContext } from './context';
import { finalise, type TargetResult } from './finalise';
import { newStageStats } from './instance';
import { chooseRoute, studyFacts } from './routing';
import { checkOnResearch } from './studyCheck';

export { pushedOf } from './carry';

export interface StudyResult extends JobOutcome {
  readonly transientError?: string;
}

/**
 * One study to one destination, in the order a reader follows: carry the instances, check the
 * study on research, finalise (audit, reports, exports).
 */
async function carryStudyTo(
  job: Job,
  ctx: TargetContext,
  ids: readonly string[],
  sizes: ReadonlyMap<string, number>,
  t0: number,
  startedAt: string,
): Promise<TargetResult> {
  const dest = ctx.destination;
  const fingerprint = outputFingerprint(ctx.deid);
  const known = await instancesOfStudy(ctx.db, job.studyId, dest);
  const oldResearchStudies = new Set(
    [...known.values()].map((k) => k.researchStudyId).filter((s): s is string => !!s),
  );
  const todo = ids.filter((id) => {
    const k = known.get(id);
    if (k?.discarded) return false;
    // Its pixels stopped the process once, or an admin recalled it: run again only once an
    // operator releases it.
    if (k?.quarantineCheck && HELD_UNTIL_RELEASE.has(k.quarantineCheck)) return false;
    if (job.mode === 'reprocess') return true;
    return !(k && k.state === 'pushed' && k.fingerprint === fingerprint);
  });
  ctx.log.child({ jobId: job.id, study: job.studyId, destination: dest }).info('study started', {
    stage: 'list',
    mode: job.mode,
    route: ctx.route,
    instances: ids.length,
    todo: todo.length,
  });
  ctx.state.progress.set(job.id, { studyId: job.studyId, destination: dest, total: todo.length, done: 0 });

  const times = newStageStats();
  const tally: Tally = { pushed: 0, already: 0, transient: null };
  const stopped = (): boolean => !!tally.transient || ctx.signal.aborted;
  await carry(todo, sizes, job, ctx, fingerprint, times, tally);
  const check = stopped()
    ? undefined
    : await checkOnResearch(job, ctx, ids, fingerprint, async (again) => {
        await carry(again, sizes, job, ctx, fingerprint, times, tally);
        return !stopped();
      });
  if (!check || stopped()) {
    return {
      destination: dest,
      state: 'failed',
      transientError: tally.transient
        ? safeMessage(tally.transient)
        : 'stopped before the study was finished',
    };
  }
  if (check.unaccounted.length > 0) {
    return {
      destination: dest,
      state: 'failed',
      reason: `study check: ${check.unaccounted.length} instance(s) neither pushed nor quarantined`,
      total: ids.length,
    };
  }
  return finalise(job, ctx, { ids, todo, tally, times, check, oldResearchStudies, t0, startedAt });
}

const SEVERITY: Record<Exclude<JobState, 'queued' | 'running'>, number> = {
  skipped: 0,
  done: 1,
  quarantined: 2,
  failed: 3,
};

/**
 * Carries one study across: its routing rule decides the destinations and the profile; every
 * instance not already carried under the same fingerprint (in reprocess mode: every instance)
 * goes through pull -> de-identify -> verify -> push, N at a time, to each destination. Progress
 * is saved per instance, so a crash or a transient fault resumes where it stopped.
 */
async function processStudy(job: Job, ctx: StageContext): Promise<StudyResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const log = ctx.log.child({ jobId: job.id, study: job.studyId });
  const study = await ctx.source.study(job.studyId);
  if (!study) return { state: 'skipped', reason: 'the study is no longer in the clinical Orthanc' };
  for (const key of ['AnonymizedFrom', 'ModifiedFrom']) {
    if ((await ctx.source.metadata('studies', job.studyId, key)) !== undefined) {
      log.info('skipping a study Orthanc made itself', { origin: key });
      return { state: 'skipped', reason: `made by Orthanc itself (${key})` };
    }
  }
  const route = chooseRoute(
    ctx.routes,
    await studyFacts(ctx.source, job.studyId, ctx.routes, ctx.explorerMetadataKey),
  );
  if (!route) {
    log.info('no routing rule matches; study skipped', { stage: 'route' });
    return { state: 'skipped', reason: 'no routing rule matches this study' };
  }
  const targets: Target[] = ctx.targetsOf(route);
  const instances = await ctx.source.studyInstances(job.studyId);
  const ids = instances.map((i) => i.id);
  const sizes = new Map(instances.map((i) => [i.id, i.size]));
  const results: TargetResult[] = [];
  try {
    for (const target of targets)
      results.push(await carryStudyTo(job, { ...ctx, ...target }, ids, sizes, t0, startedAt));
  } finally {
    ctx.state.progress.delete(job.id);
  }
  const transient = results.find((r) => r.transientError !== undefined);
  if (transient) return transient;
  const worst = results.reduce((a, b) => (SEVERITY[b.state] > SEVERITY[a.state] ? b : a));
  const main = results[0]!;
  await ctx.source.setMetadata(
    'studies',
    job.studyId,
    ctx.processedMetadataKey,
    JSON.stringify({
      state: worst.state,
      route: route.name,
      researchStudyId: main.researchStudyId,
      destinations: Object.fromEntries(
        results.map((r) => [r.destination, { state: r.state, researchStudyId: r.researchStudyId }]),
      ),
      instances: ids.length,
      quarantined: results.reduce((n, r) => n + (r.quarantined ?? 0), 0),
      at: new Date().toISOString(),
    }),
  );
  const sum = (k: 'pushed' | 'already' | 'skipped' | 'quarantined'): number =>
    results.reduce((n, r) => n + (r[k] ?? 0), 0);
  return {
    state: worst.state,
    researchStudyId: main.researchStudyId,
    pseudonym: main.pseudonym,
    total: ids.length,
    pushed: sum('pushed'),
    already: sum('already'),
    skipped: sum('skipped'),
    quarantined: sum('quarantined'),
    reason:
      results.length > 1
        ? results.map((r) => `${r.destination}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`).join('; ')
        : worst.reason,
  };
}

/** Runs a claimed job to its end state, or back to the queue on a transient fault. */
export async function runJob(
  job: Job,
  ctx: StageContext,
  retry: { maxAttempts: number; delayMs: (attempt: number) => number },
  onRetry: (job: Job, notBefore: number, reason: string) => Promise<void>,
): Promise<StudyResult> {
  let result: StudyResult;
  try {
    result = await processStudy(job, ctx);
  } catch (thrown) {
    const err = coerceError(thrown);
    if (err.scope === 'process') throw err;
    result = err.retryable
      ? { state: 'failed', transientError: safeMessage(err) }
      : { state: 'failed', reason: safeMessage(err) };
  }
  if (result.transientError !== undefined) {
    if (ctx.signal.aborted) {
      await onRetry(job, 0, 'stopped by shutdown');
      return result;
    }
    if (job.attempts < retry.maxAttempts) {
      await onRetry(job, Date.now() + retry.delayMs(job.attempts), result.transientError);
      return result;
    }
    result = { ...result, reason: `gave up after ${job.attempts} attempts: ${result.transientError}` };
  }
  if (!(await finishJob(ctx.db, job, result))) {
    // Taken over meanwhile: the replica that holds the claim now records the outcome.
    ctx.log.warn('job was taken over by another replica; its outcome is left to it', { jobId: job.id });
    return { state: 'failed', transientError: new ClaimLostError(job.id).message };
  }
  studiesTotal.inc({ state: result.state });
  return result;
}
