/** Stage 1 of a study: carry its instances to a destination, one outcome recorded per instance. */
import { coerceError, safeMessage } from '../errors';
import { instancesTotal } from '../metrics';
import { recordPushed, recordQuarantined, type InstanceRecord } from '../store/instances';
import { clearPixelsInFlight, markPixelsInFlight } from '../store/inFlight';
import type { Job } from '../store/jobs';
import { mapPool } from '../util/timing';
import type { TargetContext } from './context';
import { processInstance, type StageStats } from './instance';

/** What the instances of one study on one destination came to. */
export interface Tally {
  pushed: number;
  already: number;
  transient: unknown;
}

/**
 * Carries instances of a study to one destination, `ctx.concurrency` at a time within the shared
 * slots and memory budget: pull, de-identify, verify, push, and record each outcome as it comes. A
 * fault decides by its scope: the process stops, the job is retried, or the instance is quarantined.
 */
export async function carry(
  ids: readonly string[],
  sizes: ReadonlyMap<string, number>,
  job: Job,
  ctx: TargetContext,
  fingerprint: string,
  times: StageStats,
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
    let inFlight = false;
    try {
      const o = await processInstance(instanceId, ctx, {
        replace: job.mode === 'reprocess',
        times,
        resize,
        size: sizes.get(instanceId),
        onPixels: async () => {
          await markPixelsInFlight(ctx.db, base);
          inFlight = true;
        },
      });
      if (o.kind === 'pushed') {
        await recordPushed(ctx.db, {
          ...base,
          researchId: o.researchId,
          researchStudyId: o.researchStudyId,
          md5: o.md5,
          pseudonym: o.patient.pseudonym,
          metadata: o.metadata,
          masked: o.masked,
        });
        if (o.already) tally.already++;
        else tally.pushed++;
        instancesTotal.inc({ outcome: o.already ? 'already' : 'pushed', destination: ctx.destination });
      } else {
        await recordQuarantined(ctx.db, { ...base, check: o.check, tag: o.tag, reason: o.reason });
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
      await recordQuarantined(ctx.db, {
        ...base,
        check: 'push',
        tag: null,
        reason: `push: ${safeMessage(err)}`,
      });
      instancesTotal.inc({ outcome: 'quarantined', destination: ctx.destination });
      log.warn('instance quarantined', { stage: 'push', instance: instanceId, error: safeMessage(err) });
    } finally {
      // The instance ended, either way, in this process: it did not stop it.
      if (inFlight) await clearPixelsInFlight(ctx.db, instanceId, ctx.destination).catch(() => undefined);
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
export async function researchMd5s(
  records: ReadonlyMap<string, InstanceRecord>,
  ctx: TargetContext,
): Promise<Map<string, string | undefined>> {
  const pushed = [...records.values()].filter((r) => r.state === 'pushed' && r.researchId);
  const research = ctx.research;
  const answers = research.heldAll
    ? await research.heldAll(pushed.map((r) => r.researchId!))
    : await mapPool(pushed, ctx.concurrency, (r) => research.held(r.researchId!));
  // A destination that proves presence only confirms the instance as far as it can: as sent.
  return new Map(
    pushed.map((r, i) => [r.researchId!, answers[i] === 'present' ? (r.md5 ?? undefined) : answers[i]]),
  );
}
