import { performance } from 'node:perf_hooks';
import { coerceError, safeMessage } from '../errors';
import { writeStudyExport, writeStudyReport } from '../reports/files';
import { insertAudit, type AuditRecord } from '../store/audit';
import {
  forgetPushed,
  instancesOfStudy,
  recordPushed,
  recordQuarantined,
  type InstanceRecord,
} from '../store/instances';
import { finishJob, type Job, type JobOutcome, type JobState } from '../store/jobs';
import { listMetadata } from '../store/metadata';
import { mapPool } from '../util/timing';
import { checkStudy } from '../verify/study';
import { outputFingerprint, type StageContext, type Target, type TargetContext } from './context';
import { newStageTimes, processInstance, type StageTimes } from './instance';
import { chooseRoute, studyFacts } from './routing';
import { instancesTotal, studiesTotal } from '../metrics';

export interface StudyResult extends JobOutcome {
  readonly transientError?: string;
}

/** The checks every pushed instance passed, for the audit record. */
const INSTANCE_CHECKS = ['conformance', 'residual-phi', 'correspondence', 'marking'] as const;

interface Tally {
  pushed: number;
  already: number;
  transient: unknown;
}

async function carry(
  ids: readonly string[],
  sizes: ReadonlyMap<string, number>,
  job: Job,
  ctx: TargetContext,
  fingerprint: string,
  times: StageTimes,
  tally: Tally,
): Promise<void> {
  const log = ctx.log.child({ jobId: job.id, study: job.studyId, destination: ctx.destination });
  const p = ctx.state.progress.get(job.id);
  await mapPool(ids, ctx.concurrency, async (instanceId) => {
    if (tally.transient || ctx.signal.aborted) return; // stop taking new instances; the job is retried
    const slot = await ctx.slots.acquire(1);
    let bytes = await ctx.budget.acquire(sizes.get(instanceId) ?? 0);
    // Never waits while holding: the reservation is given back, then taken again at the new size.
    const resize = async (n: number): Promise<void> => {
      bytes();
      bytes = await ctx.budget.acquire(n);
    };
    const release = (): void => {
      bytes();
      slot();
    };
    if (tally.transient || ctx.signal.aborted) return release();
    const base = {
      sourceId: instanceId,
      destination: ctx.destination,
      studyId: job.studyId,
      jobId: job.id,
      fingerprint,
    };
    try {
      const o = await processInstance(instanceId, ctx, { replace: job.mode === 'reprocess', times, resize });
      if (o.kind === 'pushed') {
        recordPushed(ctx.db, {
          ...base,
          researchId: o.researchId,
          researchStudyId: o.researchStudyId,
          md5: o.md5,
          pseudonym: o.patient.pseudonym,
          metadata: o.metadata,
        });
        if (o.already) tally.already++;
        else tally.pushed++;
        instancesTotal.inc({ outcome: o.already ? 'already' : 'pushed', destination: ctx.destination });
      } else {
        recordQuarantined(ctx.db, { ...base, check: o.check, tag: o.tag, reason: o.reason });
        instancesTotal.inc({ outcome: 'quarantined', destination: ctx.destination });
        log.warn('instance quarantined', {
          stage: 'verify',
          instance: instanceId,
          check: o.check,
          tag: o.tag,
        });
      }
    } catch (thrown) {
      // The scope of the fault decides (errors.ts): the process stops, the job is retried, or this
      // one instance is quarantined and the study goes on.
      const err = coerceError(thrown);
      if (err.scope === 'process') throw err; // cannot record anything: stop, do not quarantine
      if (err.scope === 'study' || err.scope === 'destination') {
        tally.transient ??= err;
        return;
      }
      recordQuarantined(ctx.db, { ...base, check: 'push', tag: null, reason: `push: ${safeMessage(err)}` });
      instancesTotal.inc({ outcome: 'quarantined', destination: ctx.destination });
      log.warn('instance quarantined', { stage: 'push', instance: instanceId, error: safeMessage(err) });
    } finally {
      release();
      if (p) p.done++;
    }
  });
}

/** The records of the study's current instances that are on research. Linear in the instances (a Set, not a scan per record). */
export function pushedOf(
  records: ReadonlyMap<string, InstanceRecord>,
  ids: readonly string[],
): InstanceRecord[] {
  const current = new Set(ids);
  return [...records.values()].filter((r) => r.state === 'pushed' && current.has(r.sourceId));
}

/** Asks the research server for the MD5 of every instance we believe is there. */
async function researchMd5s(
  records: ReadonlyMap<string, InstanceRecord>,
  ctx: TargetContext,
): Promise<Map<string, string | undefined>> {
  const ids = [...records.values()]
    .filter((r) => r.state === 'pushed' && r.researchId)
    .map((r) => r.researchId!);
  const answers = await mapPool(ids, ctx.concurrency, (id) => ctx.research.instanceMd5(id));
  return new Map(ids.map((id, i) => [id, answers[i]]));
}

interface TargetResult extends StudyResult {
  readonly destination: string;
}

/** Carries one study to one destination, then runs the study check and writes the audit. */
async function carryStudyTo(
  job: Job,
  ctx: TargetContext,
  ids: readonly string[],
  sizes: ReadonlyMap<string, number>,
  t0: number,
  startedAt: string,
): Promise<TargetResult> {
  const dest = ctx.destination;
  const log = ctx.log.child({ jobId: job.id, study: job.studyId, destination: dest });
  const fingerprint = outputFingerprint(ctx.deid);
  const known = instancesOfStudy(ctx.db, job.studyId, dest);
  const oldResearchStudies = new Set(
    [...known.values()].map((k) => k.researchStudyId).filter((s): s is string => !!s),
  );
  const todo = ids.filter((id) => {
    const k = known.get(id);
    if (k?.discarded) return false;
    if (job.mode === 'reprocess') return true;
    return !(k && k.state === 'pushed' && k.fingerprint === fingerprint);
  });
  log.info('study started', {
    stage: 'list',
    mode: job.mode,
    route: ctx.route,
    instances: ids.length,
    todo: todo.length,
  });
  ctx.state.progress.set(job.id, { studyId: job.studyId, destination: dest, total: todo.length, done: 0 });

  const times = newStageTimes();
  const tally: Tally = { pushed: 0, already: 0, transient: null };
  await carry(todo, sizes, job, ctx, fingerprint, times, tally);

  // Study check; instances that vanished from research are carried again, once.
  let records = instancesOfStudy(ctx.db, job.studyId, dest);
  let check = checkStudy(ids, records, await researchMd5s(records, ctx), fingerprint);
  if (!tally.transient && check.absent.length > 0) {
    log.warn('instances missing on research; pushing them again', {
      stage: 'study-check',
      count: check.absent.length,
    });
    check.absent.forEach((id) => forgetPushed(ctx.db, id, dest));
    await carry(check.absent, sizes, job, ctx, fingerprint, times, tally);
    records = instancesOfStudy(ctx.db, job.studyId, dest);
    check = checkStudy(ids, records, await researchMd5s(records, ctx), fingerprint);
  }
  if (tally.transient || ctx.signal.aborted) {
    return {
      destination: dest,
      state: 'failed',
      transientError: tally.transient
        ? safeMessage(tally.transient)
        : 'stopped before the study was finished',
    };
  }
  for (const id of check.differs) {
    recordQuarantined(ctx.db, {
      sourceId: id,
      destination: dest,
      studyId: job.studyId,
      jobId: job.id,
      fingerprint,
      check: 'study',
      tag: '(0008,0018)',
      reason:
        'study: the research copy of this SOP instance no longer has the MD5 of the bytes sent (changed on the research side)',
    });
    log.warn('research copy differs from what was sent', { stage: 'study-check', instance: id });
  }
  if (check.unaccounted.length > 0) {
    return {
      destination: dest,
      state: 'failed',
      reason: `study check: ${check.unaccounted.length} instance(s) neither pushed nor quarantined`,
      total: ids.length,
    };
  }
  records = instancesOfStudy(ctx.db, job.studyId, dest);
  const pushedRecords = pushedOf(records, ids);
  // Discarded instances are accounted for by an operator's decision: they do not hold the study back.
  const quarantined = ids.filter(
    (id) => records.get(id)?.state === 'quarantined' && !records.get(id)?.discarded,
  ).length;
  const discarded = ids.filter((id) => records.get(id)?.discarded).length;
  const researchStudyId = pushedRecords[0]?.researchStudyId ?? null;
  const pseudonym = pushedRecords[0]?.pseudonym ?? null;

  if (job.mode === 'reprocess') {
    const current = new Set(pushedRecords.map((r) => r.researchStudyId));
    for (const old of oldResearchStudies) {
      if (current.has(old)) continue;
      await ctx.research.deleteStudy(old);
      log.info('replaced research study removed', { stage: 'reprocess', researchStudyId: old });
    }
  }

  const state = quarantined > 0 ? 'quarantined' : 'done';
  const audit: AuditRecord = {
    jobId: job.id,
    destination: dest,
    route: ctx.route,
    sourceStudyId: job.studyId,
    researchStudyId,
    pseudonym,
    state,
    trigger: job.trigger,
    mode: job.mode,
    instancesTotal: ids.length,
    instancesPushed: tally.pushed,
    instancesAlready: tally.already,
    instancesUnchanged: ids.length - todo.length,
    instancesQuarantined: quarantined,
    checks: {
      ...Object.fromEntries(INSTANCE_CHECKS.map((c) => [c, pushedRecords.length])),
      study: pushedRecords.length - check.differs.length,
    },
    durations: {
      study: Math.round(performance.now() - t0),
      pull: Math.round(times.pull),
      deidentify: Math.round(times.deidentify),
      verify: Math.round(times.verify),
      push: Math.round(times.push),
    },
    profile: ctx.deid.profile.name,
    keyVersion: ctx.deid.keys.version,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  insertAudit(ctx.db, audit);
  writeStudyReport(ctx.dataDir, audit);
  writeStudyExport(
    ctx.dataDir,
    dest === 'research' ? job.studyId : `${job.studyId}.${dest}`,
    listMetadata(ctx.db, { sourceStudyId: job.studyId, destination: dest }),
    ctx.exportTags.map((t) => t.keyword),
  );
  log.info('study finished', {
    stage: 'done',
    state,
    pushed: tally.pushed,
    already: tally.already,
    quarantined,
    researchStudyId,
    pseudonym,
  });
  return {
    destination: dest,
    state,
    researchStudyId,
    pseudonym,
    total: ids.length,
    pushed: tally.pushed,
    already: tally.already,
    skipped: ids.length - todo.length,
    quarantined,
    reason:
      [
        quarantined > 0 ? `${quarantined} instance(s) in quarantine` : '',
        discarded > 0 ? `${discarded} discarded by an operator` : '',
      ]
        .filter(Boolean)
        .join('; ') || null,
  };
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
export async function processStudy(job: Job, ctx: StageContext): Promise<StudyResult> {
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
  onRetry: (job: Job, notBefore: number, reason: string) => void,
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
      onRetry(job, 0, 'stopped by shutdown');
      return result;
    }
    if (job.attempts < retry.maxAttempts) {
      onRetry(job, Date.now() + retry.delayMs(job.attempts), result.transientError);
      return result;
    }
    result = { ...result, reason: `gave up after ${job.attempts} attempts: ${result.transientError}` };
  }
  finishJob(ctx.db, job.id, result);
  studiesTotal.inc({ state: result.state });
  return result;
}
