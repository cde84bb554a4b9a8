import type { ResolvedConfig } from '../config';
import type { Db } from '../store/db';
import { instancesOfStudy, listQuarantine } from '../store/instances';
import { listJobs, type Job } from '../store/jobs';

export type StudyStateName =
  'not-sent' | 'queued' | 'running' | 'done' | 'quarantined' | 'failed' | 'skipped';

export interface StudyState {
  readonly studyId: string;
  readonly state: StudyStateName;
  readonly reason: string | null;
  readonly job: Job | null;
  readonly destinations: ReadonlyArray<{ destination: string; researchStudyId: string; explorerUrl: string }>;
  readonly quarantine: ReadonlyArray<{
    id: number;
    destination: string;
    check: string;
    tag: string | null;
    reason: string;
  }>;
}

export function explorerStudyUrl(base: string, studyId: string): string {
  return `${base}/app/explorer.html#study?uuid=${encodeURIComponent(studyId)}`;
}

/** What the Explorer button and the admin page show for one clinical study. */
export async function studyState(db: Db, cfg: ResolvedConfig, studyId: string): Promise<StudyState> {
  const jobs = await listJobs(db, { studyId, limit: 2 });
  const open = jobs.find((j) => j.state === 'running') ?? jobs.find((j) => j.state === 'queued');
  const job = open ?? jobs[0] ?? null;
  const destinations: Array<StudyState['destinations'][number]> = [];
  for (const [name, d] of Object.entries(cfg.destinations)) {
    const first = [...(await instancesOfStudy(db, studyId, name)).values()].find(
      (r) => r.state === 'pushed' && r.researchStudyId,
    );
    // "Open in research" only where the destination has a viewer (an Orthanc's Explorer).
    if (first && d.kind === 'orthanc')
      destinations.push({
        destination: name,
        researchStudyId: first.researchStudyId!,
        explorerUrl: explorerStudyUrl(d.explorerUrl, first.researchStudyId!),
      });
  }
  const quarantine = (await listQuarantine(db, { studyId })).map((q) => ({
    id: q.id,
    destination: q.destination,
    check: q.check,
    tag: q.tag,
    reason: q.reason,
  }));
  return {
    studyId,
    state: job ? job.state : 'not-sent',
    reason: job?.reason ?? null,
    job,
    destinations,
    quarantine,
  };
}
