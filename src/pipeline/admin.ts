import { allowRetry } from '../store/inFlight';
import { createHash } from 'node:crypto';
import { parseDicom, writeDicom } from '../dicom/file';
import { deidentify } from '../deid/engine';
import type { Db } from '../store/db';
import {
  discardQuarantine,
  getQuarantine,
  instancesOfStudy,
  knownStudies,
  knownStudyDestinations,
  studiesOfPseudonym,
} from '../store/instances';
import { enqueueJob } from '../store/jobs';
import { auditAdmin } from '../store/reid';
import { mapPool } from '../util/timing';
import { outputFingerprint, type BaseContext } from './context';
import { chooseRoute, studyFacts } from './routing';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';

/**
 * Release: the study is queued again; its quarantined instances are re-run under the current
 * config (what is on research already is not touched). Returns false when no open entry exists.
 */
export async function releaseQuarantine(
  db: Db,
  id: number,
  actor: string,
): Promise<{ released: boolean; studyId?: string; sourceId?: string; destination?: string }> {
  const q = await getQuarantine(db, id);
  if (!q || q.status !== 'open') {
    await auditAdmin(db, {
      action: 'quarantine-release',
      pseudonym: '',
      actor,
      outcome: 'not-open',
      target: `quarantine ${id}`,
    });
    return { released: false };
  }
  await db.transaction(async (tx) => {
    // An instance kept back because its pixels stopped the process is read again on release.
    await allowRetry(tx, id);
    await enqueueJob(tx, q.studyId, 'release');
    await auditAdmin(tx, {
      action: 'quarantine-release',
      pseudonym: '',
      actor,
      outcome: 'released',
      target: quarantineTarget(q),
    });
  });
  return { released: true, studyId: q.studyId, sourceId: q.sourceId, destination: q.destination };
}

/** Discard: the instance will not go to research; it stays accounted for and is not retried. */
export async function discard(
  db: Db,
  id: number,
  actor: string,
): Promise<{ discarded: boolean; studyId?: string }> {
  const q = await getQuarantine(db, id);
  const done = await db.transaction(async (tx) => {
    if (!q || !(await discardQuarantine(tx, id))) return false;
    await enqueueJob(tx, q.studyId, 'release'); // re-evaluates the study's state with the instance set aside
    return true;
  });
  await auditAdmin(db, {
    action: 'quarantine-discard',
    pseudonym: '',
    actor,
    outcome: done ? 'discarded' : 'not-open',
    target: q ? quarantineTarget(q) : `quarantine ${id}`,
  });
  return done ? { discarded: true, studyId: q!.studyId } : { discarded: false };
}

function quarantineTarget(q: { id: number; sourceId: string; studyId: string; destination: string }): string {
  return `quarantine ${q.id}: instance ${q.sourceId} of study ${q.studyId} to ${q.destination}`;
}

export type ReprocessTarget = { study: string } | { patient: string } | { all: true };

/** Queues reprocess jobs; returns the source studies queued. */
export async function queueReprocess(db: Db, target: ReprocessTarget): Promise<string[]> {
  const studies =
    'study' in target
      ? [target.study]
      : 'patient' in target
        ? await studiesOfPseudonym(db, target.patient)
        : await knownStudies(db);
  for (const s of studies) await enqueueJob(db, s, 'reprocess', null, 'reprocess');
  return studies;
}

export interface ConsistencyProblem {
  readonly sourceStudyId: string;
  readonly destination: string;
  readonly researchStudyId: string | null;
  readonly pseudonym: string | null;
  readonly problems: readonly string[];
}

/**
 * Lists research studies whose pseudonym, UIDs or content disagree with what the current key,
 * routing and profile would give. One instance per study and destination is re-derived from its
 * original and compared with what was recorded and what the research server holds.
 */
export async function checkConsistency(ctx: BaseContext): Promise<ConsistencyProblem[]> {
  const out: ConsistencyProblem[] = [];
  await mapPool(await knownStudyDestinations(ctx.db), ctx.concurrency, async ({ studyId, destination }) => {
    const pushed = [...(await instancesOfStudy(ctx.db, studyId, destination)).values()].filter(
      (r) => r.state === 'pushed',
    );
    const sample = pushed[0];
    if (!sample?.researchId) return;
    const problems: string[] = [];
    const report = (): void => {
      out.push({
        sourceStudyId: studyId,
        destination,
        researchStudyId: sample.researchStudyId,
        pseudonym: sample.pseudonym,
        problems: [...new Set(problems)],
      });
    };
    const route = (await ctx.source.study(studyId))
      ? chooseRoute(ctx.routes, await studyFacts(ctx.source, studyId, ctx.routes, ctx.explorerMetadataKey))
      : undefined;
    const target = route ? ctx.targetsOf(route).find((t) => t.destination === destination) : undefined;
    if (!target) {
      problems.push(
        route ? 'no longer routed to this destination' : 'no routing rule matches the study (or it is gone)',
      );
      return report();
    }
    if (sample.fingerprint !== outputFingerprint(target.deid))
      problems.push('made under another key or profile');
    const original = await ctx.source.instanceFile(sample.sourceId).catch(() => undefined);
    if (!original) {
      problems.push('original no longer in the clinical Orthanc');
    } else {
      const result = deidentify(parseDicom(original), target.deid);
      const d = result.file.dict;
      const pid = str(d[TAG.PatientID]);
      if (pid !== sample.pseudonym) problems.push('pseudonym differs');
      const key = {
        patientId: pid,
        studyUid: str(d[TAG.StudyInstanceUID]),
        seriesUid: str(d[TAG.SeriesInstanceUID]),
        sopUid: str(d[TAG.SOPInstanceUID]),
        sopClassUid: str(d[TAG.SOPClassUID]),
      };
      if (target.research.studyIdOf(key) !== sample.researchStudyId)
        problems.push('research study ID differs');
      if (target.research.idOf(key) !== sample.researchId) problems.push('UIDs differ');
      const md5 = createHash('md5').update(writeDicom(result.file)).digest('hex');
      if (md5 !== sample.md5) problems.push('content differs from what the current profile writes');
    }
    const held = await target.research.held(sample.researchId);
    const remote = held === 'present' ? sample.md5 : held;
    if (remote === undefined) problems.push('missing on the research server');
    else if (remote !== sample.md5) problems.push('research copy differs from what was sent');
    if (problems.length > 0) report();
  });
  return out.sort(
    (a, b) => a.sourceStudyId.localeCompare(b.sourceStudyId) || a.destination.localeCompare(b.destination),
  );
}
