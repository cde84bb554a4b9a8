/**
 * The research copy stays as valid an object of its IOD as the original (issue 28): the engine
 * resolves the table's actions with the attribute types of PS3.3 (generated, dicom/iods.ts), at
 * every nesting level, and the gate's IOD check fails an instance that lost a required attribute.
 * The engine in the last block is a test double: the real engine with `decide` flipped for one
 * attribute, as in independentGate.test.ts.
 */
import { flipped } from '../helpers/flippedEngine';

jest.mock('../../src/deid/profile', () => jest.requireActual('../helpers/flippedEngine').flippedProfile());

import { parseDicom, writeDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import type { Dataset } from '../../src/deid/types';
import { attributeType, iodOf } from '../../src/dicom/iods';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TAG, formatTag, tagOf } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';
import { verifyInstance } from '../../src/verify/instance';
import { describeFailure } from '../../src/verify/types';
import { ctSlice, testContext } from '../helpers/samples';

/** The sample CT slice as another SOP class, with extra elements. */
function instance(sopClass: string, extra: Dataset): DicomFile {
  const { file } = ctSlice();
  const dict: Dataset = { ...file.dict, ...extra, [TAG.SOPClassUID]: { vr: 'UI', Value: [sopClass] } };
  const meta: Dataset = { ...file.meta, [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [sopClass] } };
  return parseDicom(writeDicom({ meta, dict }));
}

function run(file: DicomFile) {
  const ctx = testContext();
  const result = deidentify(file, ctx);
  const out = parseDicom(writeDicom(result.file));
  return {
    out: out.dict,
    reasons: verifyInstance(file, out, ctx, result.patient).failures.map(describeFailure),
  };
}

const items = (el: { Value?: unknown[] } | undefined) => (el?.Value ?? []) as Dataset[];

afterEach(() => flipped.clear());

describe('IOD attribute types, generated from PS3.3', () => {
  it('knows the module that makes Device Serial Number Type 1 in an Enhanced MR image and Type 3 in a CT image', () => {
    const enhanced = iodOf(SOP_CLASS.EnhancedMRImageStorage)!;
    expect(enhanced.modules.find((m) => m.name === 'Enhanced General Equipment')).toMatchObject({
      usage: 'M',
      attributes: expect.objectContaining({ [TAG.DeviceSerialNumber]: '1' }),
    });
    expect(attributeType(SOP_CLASS.EnhancedMRImageStorage, [], TAG.DeviceSerialNumber)).toBe(1);
    expect(attributeType(SOP_CLASS.CTImageStorage, [], TAG.DeviceSerialNumber)).toBe(3);
    expect(attributeType(SOP_CLASS.EnhancedMRImageStorage, [], TAG.AcquisitionContextSequence)).toBe(2);
  });

  it('gives types inside sequences: Treatment Machine Name is Type 2 in each Beam Sequence item of an RT Plan', () => {
    expect(attributeType(SOP_CLASS.RTPlanStorage, [TAG.BeamSequence], TAG.TreatmentMachineName)).toBe(2);
    expect(attributeType(SOP_CLASS.RTPlanStorage, [], TAG.TreatmentMachineName)).toBe(3);
  });

  it('gives types inside functional groups: Frame Content Sequence is Type 1 in a Per-frame item, Frame Acquisition DateTime 1C in it', () => {
    const perFrame = [TAG.PerFrameFunctionalGroupsSequence];
    expect(attributeType(SOP_CLASS.EnhancedMRImageStorage, perFrame, TAG.FrameContentSequence)).toBe(1);
    expect(
      attributeType(
        SOP_CLASS.EnhancedCTImageStorage,
        [...perFrame, TAG.FrameContentSequence],
        TAG.FrameAcquisitionDateTime,
      ),
    ).toBe(1);
    expect(
      attributeType(
        SOP_CLASS.EnhancedCTImageStorage,
        [...perFrame, TAG.FrameContentSequence],
        TAG.FrameAcquisitionNumber,
      ),
    ).toBe(3);
  });

  it('does not know an IOD defined after the tables it was generated from', () => {
    expect(iodOf(SOP_CLASS.EncapsulatedSTLStorage)).toBeUndefined();
    expect(attributeType(SOP_CLASS.EncapsulatedSTLStorage, [], TAG.DeviceSerialNumber)).toBeUndefined();
  });
});

describe('the engine keeps the object valid', () => {
  it('writes a dummy Device Serial Number (Type 1) and an empty Acquisition Context Sequence (Type 2) in an Enhanced MR image', () => {
    const { out, reasons } = run(
      instance(SOP_CLASS.EnhancedMRImageStorage, {
        [TAG.DeviceSerialNumber]: { vr: 'LO', Value: ['SN-4471-ENH'] },
        [TAG.AcquisitionContextSequence]: {
          vr: 'SQ',
          Value: [{ [TAG.CodeValue]: { vr: 'SH', Value: ['R-41000'] } }],
        },
      }),
    );
    expect(str(out[TAG.DeviceSerialNumber])).toBe('ANONYMIZED');
    expect(out[TAG.AcquisitionContextSequence]?.Value).toEqual([]);
    expect(reasons).toEqual([]);
  });

  it("empties Operators' Name (Type 2 in RT Series) and, inside each beam, Treatment Machine Name (Type 2 in RT Beams)", () => {
    const { out, reasons } = run(
      instance(SOP_CLASS.RTPlanStorage, {
        [TAG.OperatorsName]: { vr: 'PN', Value: [{ Alphabetic: 'Tech^Terry' }] },
        [TAG.BeamSequence]: {
          vr: 'SQ',
          Value: [
            {
              [TAG.BeamNumber]: { vr: 'IS', Value: [1] },
              [TAG.TreatmentMachineName]: { vr: 'SH', Value: ['LINAC-7'] },
            },
          ],
        },
      }),
    );
    expect(out[TAG.OperatorsName]).toBeDefined();
    expect(str(out[TAG.OperatorsName])).toBe('');
    const beam = items(out[TAG.BeamSequence])[0]!;
    expect(beam[TAG.TreatmentMachineName]).toBeDefined();
    expect(str(beam[TAG.TreatmentMachineName])).toBe('');
    expect(reasons).toEqual([]);
  });

  it('removes an overlay whole when the profile removes its data, so no Overlay Plane is left without its Type 1 bits', () => {
    const overlay: Dataset = {
      [tagOf(0x6000, 0x0010)]: { vr: 'US', Value: [8] },
      [tagOf(0x6000, 0x0011)]: { vr: 'US', Value: [8] },
      [tagOf(0x6000, 0x0040)]: { vr: 'CS', Value: ['G'] },
      [tagOf(0x6000, 0x0050)]: { vr: 'SS', Value: [1, 1] },
      [tagOf(0x6000, 0x0100)]: { vr: 'US', Value: [1] },
      [tagOf(0x6000, 0x0102)]: { vr: 'US', Value: [0] },
      [tagOf(0x6000, 0x3000)]: { vr: 'OW', Value: [new Uint8Array(8).fill(0xff).buffer] },
    };
    const { out, reasons } = run(instance(SOP_CLASS.MRImageStorage, overlay));
    expect(Object.keys(out).filter((t) => t.startsWith('6000'))).toEqual([]);
    expect(reasons).toEqual([]);
  });

  it('gives a DICOMDIR study record a dummy Study ID (Type 1) and an empty Study Description (Type 2)', () => {
    const record: Dataset = {
      [TAG.DirectoryRecordType]: { vr: 'CS', Value: ['STUDY'] },
      [TAG.StudyDate]: { vr: 'DA', Value: ['20240115'] },
      [TAG.StudyTime]: { vr: 'TM', Value: ['101500'] },
      [TAG.StudyDescription]: { vr: 'LO', Value: ['Knee left'] },
      [TAG.StudyID]: { vr: 'SH', Value: ['S-88231'] },
      [TAG.AccessionNumber]: { vr: 'SH', Value: ['A-55102'] },
    };
    const { file } = ctSlice();
    const meta: Dataset = {
      ...file.meta,
      [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.MediaStorageDirectoryStorage] },
    };
    const dicomdir = parseDicom(
      writeDicom({ meta, dict: { [TAG.DirectoryRecordSequence]: { vr: 'SQ', Value: [record] } } }),
    );
    const out = deidentify(dicomdir, testContext()).file.dict;
    const study = items(out[TAG.DirectoryRecordSequence])[0]!;
    expect(str(study[TAG.StudyID])).toBe('ANONYMIZED');
    expect(study[TAG.StudyDescription]?.Value).toEqual([]);
    expect(study[TAG.AccessionNumber]?.Value).toEqual([]);
  });
});

describe("the gate's IOD check, apart from the engine", () => {
  const enhancedMr = () =>
    instance(SOP_CLASS.EnhancedMRImageStorage, {
      [TAG.DeviceSerialNumber]: { vr: 'LO', Value: ['SN-4471-ENH'] },
    });

  it('quarantines a Type 1 attribute that an engine double removes, naming the attribute and the module', () => {
    flipped.set(TAG.DeviceSerialNumber, 'X');
    const { out, reasons } = run(enhancedMr());
    expect(out[TAG.DeviceSerialNumber]).toBeUndefined();
    expect(reasons).toEqual([
      `iod: ${formatTag(TAG.DeviceSerialNumber)} DeviceSerialNumber is Type 1 in the Enhanced General Equipment module and missing from the output`,
    ]);
  });

  it('quarantines a Type 1 attribute that an engine double writes empty', () => {
    flipped.set(TAG.DeviceSerialNumber, 'Z');
    expect(run(enhancedMr()).reasons).toEqual([
      `iod: ${formatTag(TAG.DeviceSerialNumber)} DeviceSerialNumber is Type 1 in the Enhanced General Equipment module and empty in the output`,
    ]);
  });

  it('quarantines a Type 2 attribute that an engine double removes, inside a sequence item', () => {
    flipped.set(TAG.TreatmentMachineName, 'X');
    const { reasons } = run(
      instance(SOP_CLASS.RTPlanStorage, {
        [TAG.BeamSequence]: {
          vr: 'SQ',
          Value: [
            {
              [TAG.BeamNumber]: { vr: 'IS', Value: [1] },
              [TAG.TreatmentMachineName]: { vr: 'SH', Value: ['LINAC-7'] },
            },
          ],
        },
      }),
    );
    expect(reasons).toEqual([
      `iod: ${formatTag(TAG.BeamSequence)}[0].${formatTag(TAG.TreatmentMachineName)} TreatmentMachineName is Type 2 in the RT Beams module and missing from the output`,
    ]);
  });

  it('quarantines a Type 1 functional group sequence that an engine double removes from a frame', () => {
    flipped.set(TAG.FrameContentSequence, 'X');
    // A harmless element beside it keeps each item when the sequence goes.
    const frame = (n: number): Dataset => ({
      [TAG.CodeValue]: { vr: 'SH', Value: ['CARRIER'] },
      [TAG.FrameContentSequence]: {
        vr: 'SQ',
        Value: [{ [TAG.FrameAcquisitionNumber]: { vr: 'US', Value: [n] } }],
      },
    });
    const { reasons } = run(
      instance(SOP_CLASS.EnhancedMRImageStorage, {
        [TAG.PerFrameFunctionalGroupsSequence]: { vr: 'SQ', Value: [frame(1), frame(2)] },
      }),
    );
    expect(reasons).toEqual(
      [0, 1].map(
        (i) =>
          `iod: ${formatTag(TAG.PerFrameFunctionalGroupsSequence)}[${i}].${formatTag(TAG.FrameContentSequence)} FrameContentSequence is Type 1 in the Functional Group Macros module and missing from the output`,
      ),
    );
  });

  it('passes the same attribute removed from a CT image, where it is Type 3', () => {
    flipped.set(TAG.DeviceSerialNumber, 'X');
    expect(
      run(instance(SOP_CLASS.CTImageStorage, { [TAG.DeviceSerialNumber]: { vr: 'LO', Value: ['SN-1'] } }))
        .reasons,
    ).toEqual([]);
  });
});
