/**
 * The gate is a second opinion: it reads Table E.1-1 itself, so an engine that reads one row wrong
 * is stopped. The engine here is a test double: the real engine with `decide` flipped for one
 * attribute (and nothing else changed); the gate is the real one, and imports no decision from deid/.
 */
import { flipped } from '../helpers/flippedEngine';

jest.mock('../../src/deid/profile', () => jest.requireActual('../helpers/flippedEngine').flippedProfile());

import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { BASIC_OPTIONS } from '../../src/deid/profile';
import { TAG, formatTag } from '../../src/dicom/tags';
import { verifyInstance } from '../../src/verify/instance';
import { describeFailure } from '../../src/verify/types';
import { ctSlice, testContext } from '../helpers/samples';

function gate(options = testContext().profile.options) {
  const ctx = testContext({ options });
  const { file } = ctSlice();
  file.dict[TAG.StudyDescription] = { vr: 'LO', Value: ['Knee left, follow-up'] };
  file.dict[TAG.PatientSex] = { vr: 'CS', Value: ['F'] };
  const result = deidentify(file, ctx);
  const out = parseDicom(writeDicom(result.file));
  return { out, reasons: verifyInstance(file, out, ctx, result.patient).failures.map(describeFailure) };
}

afterEach(() => flipped.clear());

describe('the gate reads the table apart from the engine', () => {
  it('passes the engine when the engine reads the table right', () => {
    expect(gate().reasons).toEqual([]);
    expect(gate(BASIC_OPTIONS).reasons).toEqual([]);
  });

  it('quarantines a description the engine wrongly keeps (X read as K), which no value search can tell from a kept one', () => {
    flipped.set(TAG.StudyDescription, 'K');
    const { out, reasons } = gate();
    // The double really did keep it: the residual search alone would pass it as "kept by the profile".
    expect(out.dict[TAG.StudyDescription]).toBeDefined();
    expect(reasons).toEqual([`conformance: ${formatTag(TAG.StudyDescription)} should have been removed`]);
  });

  it('quarantines a patient characteristic kept under a profile without Retain Patient Characteristics', () => {
    flipped.set(TAG.PatientSex, 'K');
    expect(gate(BASIC_OPTIONS).reasons).toEqual([
      `conformance: ${formatTag(TAG.PatientSex)} should be empty or removed`,
    ]);
    // With the option on the table itself says K, and the gate agrees.
    expect(gate({ ...BASIC_OPTIONS, retainPatientCharacteristics: true }).reasons).toEqual([]);
  });

  it('quarantines a UID the engine keeps where the table replaces it (U read as K)', () => {
    flipped.set(TAG.FrameOfReferenceUID, 'K');
    expect(gate().reasons).toContain(
      `conformance: ${formatTag(TAG.FrameOfReferenceUID)} still holds the original UID (the table replaces it)`,
    );
  });

  it('quarantines a date the engine keeps unshifted where Retain Longitudinal Modified Dates asks for a shift', () => {
    flipped.set(TAG.StudyDate, 'K');
    expect(gate().reasons).toEqual([
      `conformance: ${formatTag(TAG.StudyDate)} is not shifted by the patient offset`,
    ]);
  });
});
