/**
 * Stage 2 of a study: the study check. Every source instance must be on research with the MD5 of
 * the bytes sent, or in quarantine. Instances that vanished from research are carried again, once;
 * research copies changed after the push are quarantined.
 */
import { forgetPushed, instancesOfStudy, recordQuarantined } from '../store/instances';
import type { Job } from '../store/jobs';
import { checkStudy, type StudyCheckResult } from '../verify/study';
import { researchMd5s } from './carry';
import type { TargetContext } from './context';
import { TAG, formatTag } from '../dicom/tags';

export async function checkOnResearch(
  job: Job,
  ctx: TargetContext,
  ids: readonly string[],
  fingerprint: string,
  /** Carries the given instances again (the study's carry stage); false when the job must stop. */
  carryAgain: (ids: readonly string[]) => Promise<boolean>,
): Promise<StudyCheckResult> {
  const dest = ctx.destination;
  const log = ctx.log.child({ jobId: job.id, study: job.studyId, destination: dest });
  let records = await instancesOfStudy(ctx.db, job.studyId, dest);
  let check = checkStudy(ids, records, await researchMd5s(records, ctx), fingerprint);
  if (check.absent.length > 0) {
    log.warn('instances missing on research; pushing them again', {
      stage: 'study-check',
      count: check.absent.length,
    });
    for (const id of check.absent) await forgetPushed(ctx.db, id, dest);
    if (!(await carryAgain(check.absent))) return check;
    records = await instancesOfStudy(ctx.db, job.studyId, dest);
    check = checkStudy(ids, records, await researchMd5s(records, ctx), fingerprint);
  }
  for (const id of check.differs) {
    await recordQuarantined(ctx.db, {
      sourceId: id,
      destination: dest,
      studyId: job.studyId,
      jobId: job.id,
      fingerprint,
      check: 'study',
      tag: formatTag(TAG.SOPInstanceUID),
      reason:
        'study: the research copy of this SOP instance no longer has the MD5 of the bytes sent (changed on the research side)',
    });
    log.warn('research copy differs from what was sent', { stage: 'study-check', instance: id });
  }
  return check;
}
