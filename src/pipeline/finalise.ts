/**
 * Stage 3 of a study on one destination: the outcome, the research studies a reprocess replaced,
 * the audit record, the report and export files, and the log line.
 */
import { performance } from 'node:perf_hooks';
import { ClaimLostError } from '../errors';
import { writeStudyExport, writeStudyReport } from '../reports/files';
import { insertAudit, type AuditRecord } from '../store/audit';
import { instancesOfStudy, type InstanceRecord } from '../store/instances';
import type { Job, JobOutcome } from '../store/jobs';
import { listMetadata } from '../store/metadata';
import type { StudyCheckResult } from '../verify/study';
import { pushedOf, type Tally } from './carry';
import type { TargetContext } from './context';
import type { StageStats } from './instance';

export interface TargetResult extends JobOutcome {
  readonly destination: string;
  readonly transientError?: string;
}

export interface Carried {
  readonly ids: readonly string[];
  /** The instances this job carried (the rest were already there under the same fingerprint). */
  readonly todo: readonly string[];
  readonly tally: Tally;
  readonly times: StageStats;
  readonly check: StudyCheckResult;
  /** Research studies the study had before a reprocess: those no instance maps to any more go. */
  readonly oldResearchStudies: ReadonlySet<string>;
  readonly t0: number;
  readonly startedAt: string;
}

/** Regions masked in the study's pushed instances and their area (pixels), when any pixels were cleaned. */
function maskedTotals(records: readonly InstanceRecord[]): Record<string, number> {
  const cleaned = records.filter((r) => r.maskedRegions !== null);
  if (cleaned.length === 0) return {};
  return {
    'masked-regions': cleaned.reduce((n, r) => n + (r.maskedRegions ?? 0), 0),
    'masked-area-px': cleaned.reduce((n, r) => n + (r.maskedArea ?? 0), 0),
    // The largest share of one frame masked in the study, in per mille (audit counters are whole numbers).
    'masked-share-max-permille': Math.round(1000 * Math.max(0, ...cleaned.map((r) => r.maskedShare ?? 0))),
  };
}

export async function finalise(job: Job, ctx: TargetContext, c: Carried): Promise<TargetResult> {
  const dest = ctx.destination;
  const log = ctx.log.child({ jobId: job.id, study: job.studyId, destination: dest });
  const { ids, todo, tally, times, check } = c;
  const records = await instancesOfStudy(ctx.db, job.studyId, dest);
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
    for (const old of c.oldResearchStudies) {
      if (current.has(old)) continue;
      if (!ctx.research.canReplace) {
        log.warn('replaced research study left in place: the destination cannot delete', {
          stage: 'reprocess',
        });
        continue;
      }
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
    // Each check as counted where it ran: the gate per instance this job verified, the study
    // check per instance it found on research with the bytes sent.
    checks: {
      ...times.checks,
      study: check.confirmed,
      // What the destination proved of each: the bytes sent (MD5 of what it returns) or presence.
      [`confirmed-${ctx.research.proves}`]: check.confirmed,
      ...maskedTotals(pushedRecords),
    },
    durations: {
      study: Math.round(performance.now() - c.t0),
      pull: Math.round(times.pull),
      deidentify: Math.round(times.deidentify),
      verify: Math.round(times.verify),
      push: Math.round(times.push),
    },
    profile: ctx.deid.profile.name,
    keyVersion: ctx.deid.keys.version,
    startedAt: c.startedAt,
    finishedAt: new Date().toISOString(),
  };
  if (!(await insertAudit(ctx.db, job, audit))) throw new ClaimLostError(job.id);
  writeStudyReport(ctx.dataDir, audit);
  writeStudyExport(
    ctx.dataDir,
    job.studyId,
    dest,
    await listMetadata(ctx.db, { sourceStudyId: job.studyId, destination: dest }),
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
