/** What the study check knows of one source instance. */
export interface StudyCheckRecord {
  readonly state: 'pushed' | 'quarantined';
  readonly fingerprint: string;
  readonly researchId: string | null;
  readonly md5: string | null;
}

export interface StudyCheckResult {
  readonly ok: boolean;
  /** Source instances that are neither on research under the current fingerprint nor in quarantine. */
  readonly unaccounted: readonly string[];
  /** Pushed, but the research server does not have them any more. */
  readonly absent: readonly string[];
  /** Pushed, but the research server holds other bytes than the ones we sent. */
  readonly differs: readonly string[];
  /** On research with the MD5 of the bytes sent: what the check confirmed. */
  readonly confirmed: number;
}

/**
 * The study-level gate: every source instance is on the research server with the MD5 of the bytes
 * we sent, or in quarantine. `researchMd5` holds what the research server answered for each
 * research instance ID (undefined: not there).
 */
export function checkStudy(
  sourceIds: readonly string[],
  records: ReadonlyMap<string, StudyCheckRecord>,
  researchMd5: ReadonlyMap<string, string | undefined>,
  fingerprint: string,
): StudyCheckResult {
  const unaccounted: string[] = [];
  const absent: string[] = [];
  const differs: string[] = [];
  let confirmed = 0;
  for (const id of sourceIds) {
    const r = records.get(id);
    if (!r) {
      unaccounted.push(id);
    } else if (r.state === 'pushed') {
      if (r.fingerprint !== fingerprint || !r.researchId) unaccounted.push(id);
      else {
        const remote = researchMd5.get(r.researchId);
        if (remote === undefined) absent.push(id);
        else if (remote !== r.md5) differs.push(id);
        else confirmed++;
      }
    }
  }
  return {
    ok: unaccounted.length + absent.length + differs.length === 0,
    unaccounted,
    absent,
    differs,
    confirmed,
  };
}
