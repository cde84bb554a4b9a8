import { parseDicom, type DicomFile } from '../../src/dicom/file';
import type { DeidContext } from '../../src/deid/engine';
import { deriveKeys } from '../../src/deid/keys';
import { DEFAULT_PROFILE } from '../../src/deid/profile';
import type { ProcessState, TargetContext } from '../../src/pipeline/context';
import { ByteBudget } from '../../src/util/budget';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';
import type { InstanceKey } from '../../src/destinations/types';
import { makeCtStudy, makeMammoStudy, samplePatients, type SamplePatient } from '../fixtures/studies';

export const TEST_SECRET = 'test-secret-0123456789abcdef-not-for-production';

export function testContext(overrides: Partial<DeidContext['profile']> = {}): DeidContext {
  return { profile: { ...DEFAULT_PROFILE, ...overrides }, keys: deriveKeys(TEST_SECRET) };
}

export function firstPatient(): SamplePatient {
  return samplePatients(1)[0]!;
}

/** A CT slice that references the first slice (so it carries a nested UID reference). */
export function ctSlice(p: SamplePatient = firstPatient()): { bytes: Buffer; file: DicomFile } {
  const inst = makeCtStudy(p, { studyIndex: 1, studyDate: '20240115', slices: 2 })[1]!;
  return { bytes: inst.bytes, file: parseDicom(inst.bytes) };
}

export function mammoView(p: SamplePatient = firstPatient()): { bytes: Buffer; file: DicomFile } {
  const inst = makeMammoStudy(p, { studyIndex: 2, studyDate: '20240301' })[0]!;
  return { bytes: inst.bytes, file: parseDicom(inst.bytes) };
}

export const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789ab';
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/**
 * What the instance stages read of a target's context, for tests and benches that run them
 * without an app: the profile, the pixel engines, a 64 MiB inflate limit and a 512 MiB budget.
 */
export function stageContext(state: ProcessState, deid: DeidContext = testContext()): TargetContext {
  return {
    deid,
    state,
    maxInflatedBytes: 1 << 26,
    budget: new ByteBudget(512 << 20),
  } as unknown as TargetContext;
}

/** A destination's key for a DICOM file: its study, series and instance UIDs, under a patient ID. */
export function instanceKeyOf(bytes: Buffer, patientId = 'P'): InstanceKey {
  const dict = parseDicom(bytes).dict;
  return {
    patientId,
    studyUid: str(dict[TAG.StudyInstanceUID]),
    seriesUid: str(dict[TAG.SeriesInstanceUID]),
    sopUid: str(dict[TAG.SOPInstanceUID]),
  };
}
