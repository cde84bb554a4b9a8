/**
 * The push stage of an instance, then its confirmation: the research server must hold exactly the
 * bytes sent; the folder sink gets a copy.
 */
import { createHash } from 'node:crypto';
import { PermanentError, safeMessage } from '../errors';
import { bytesTotal } from '../metrics';
import { carriedAs } from '../store/instances';
import type { Dataset } from '../deid/types';
import { TAG, formatTag } from '../dicom/tags';
import { str } from '../dicom/values';
import type { StageContext, TargetContext } from './context';
import { writeToSink } from '../destinations/folderFiles';
import type { InstanceOutcome, Prepared } from './outcome';

function md5(parts: readonly Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** The export fields of a de-identified dataset, by keyword. */
function exportFields(dict: Dataset, tags: StageContext['exportTags']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { keyword, tag } of tags) {
    const el = dict[tag];
    if (!el || el.vr === 'SQ') continue;
    const values = (el.Value ?? []).map((v) => str({ vr: el.vr, Value: [v] }));
    out[keyword] = values.join('\\');
  }
  return out;
}

/**
 * Push stage, then confirm: the research server must hold exactly the bytes we sent. An
 * `AlreadyStored` answer is success only when the stored MD5 matches; with `replace` (reprocess),
 * a different stored copy is deleted and the new one pushed in its place.
 */
export async function push(
  prepared: Prepared,
  ctx: TargetContext,
  replace: boolean,
  sourceId?: string,
): Promise<InstanceOutcome> {
  const sent = md5(prepared.parts);
  const key = {
    patientId: prepared.patient.pseudonym,
    studyUid: str(prepared.dict[TAG.StudyInstanceUID]),
    seriesUid: str(prepared.dict[TAG.SeriesInstanceUID]),
    sopUid: str(prepared.dict[TAG.SOPInstanceUID]),
    sopClassUid: str(prepared.dict[TAG.SOPClassUID]),
    fields: exportFields(prepared.dict, SINK_TAGS),
  };
  const research = ctx.research;
  let stored = await research.store(prepared.parts, key);
  bytesTotal.inc({ direction: 'pushed' }, prepared.length);
  // A fresh store holds these very bytes; the study check confirms every one at the end.
  // "Already there" may hide another version of the instance: look now.
  let replaced = false;
  if (stored.already) {
    const held = async (id: string) => {
      const h = await research.held(id);
      return h === 'present' ? sent : h; // a destination that proves presence only
    };
    let remote = await held(stored.id);
    // Real archives hold the same SOP instance in two source studies (a PatientID that differs
    // only by padding, a copy in another transfer syntax): both map to one research instance, and
    // the one carried first keeps it. Never replace it with the other.
    const owner = await carriedAs(ctx.db, stored.id, ctx.destination);
    if (remote !== undefined && remote !== sent && owner && sourceId && owner.sourceId !== sourceId)
      return {
        kind: 'quarantined',
        check: 'study',
        tag: formatTag(TAG.SOPInstanceUID),
        reason: `study: the same SOP Instance UID is in another source study (${owner.studyId}), already carried to research with other bytes; one copy per SOP instance goes to research`,
      };
    if (remote !== undefined && remote !== sent && replace && research.canReplace) {
      await research.deleteInstance(stored.id);
      stored = await research.store(prepared.parts, key);
      remote = await held(stored.id);
      replaced = true;
    }
    if (remote !== undefined && remote !== sent) {
      return {
        kind: 'quarantined',
        check: 'study',
        tag: formatTag(TAG.SOPInstanceUID),
        reason:
          'study: the research server already holds this SOP instance with other bytes: sent under another profile or key (run reprocess), or the same SOP Instance UID is in another source study',
      };
    }
    if (remote === undefined)
      throw new PermanentError(
        'RESEARCH_MISSING',
        `${research.label} does not show the instance it just accepted`,
      );
  }
  const sink = ctx.folderSink;
  if (sink) {
    const fields = {
      ...exportFields(prepared.dict, SINK_TAGS),
      pseudonym: prepared.patient.pseudonym,
      researchStudyId: stored.studyId,
    };
    // The instance is on research whatever happens here: a failed copy to the folder is logged,
    // never turned into a quarantine (the study check would then disagree with research).
    try {
      writeToSink(sink.dir, sink.pattern, fields, prepared.parts, sink.fileMode);
    } catch (err) {
      ctx.log.error('folder sink write failed; the instance is on research', {
        stage: 'push',
        researchId: stored.id,
        error: safeMessage(err),
      });
    }
  }
  return {
    kind: 'pushed',
    researchId: stored.id,
    researchStudyId: stored.studyId,
    md5: sent,
    already: stored.already && !replaced,
    replaced,
    patient: prepared.patient,
    metadata: exportFields(prepared.dict, ctx.exportTags),
    masked: prepared.masked,
  };
}

const SINK_TAGS: StageContext['exportTags'] = [
  { keyword: 'StudyDate', tag: TAG.StudyDate },
  { keyword: 'StudyInstanceUID', tag: TAG.StudyInstanceUID },
  { keyword: 'SeriesInstanceUID', tag: TAG.SeriesInstanceUID },
  { keyword: 'SOPInstanceUID', tag: TAG.SOPInstanceUID },
  { keyword: 'SeriesNumber', tag: TAG.SeriesNumber },
  { keyword: 'InstanceNumber', tag: TAG.InstanceNumber },
  { keyword: 'Modality', tag: TAG.Modality },
  { keyword: 'ViewPosition', tag: TAG.ViewPosition },
  { keyword: 'ImageLaterality', tag: TAG.ImageLaterality },
  { keyword: 'BodyPartExamined', tag: TAG.BodyPartExamined },
];
