import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { mapUid } from '../../src/deid/keys';
import { BASIC_OPTIONS } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { shiftDate } from '../../src/deid/values';
import { samePixelData } from '../../src/verify/instance';
import { plantedValues } from '../fixtures/studies';
import { ctSlice, firstPatient, mammoView, testContext } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

function snapshot(ds: Dataset): string {
  return JSON.stringify(ds, (_k, v: unknown) =>
    v instanceof ArrayBuffer ? Buffer.from(v).toString('base64') : v,
  );
}

describe('deidentify', () => {
  const ctx = testContext();

  it('replaces PatientID and PatientName with the keyed pseudonym', () => {
    const { file } = ctSlice();
    const r = deidentify(file, ctx);
    expect(str(r.file.dict[TAG.PatientID])).toBe(r.patient.pseudonym);
    expect(str(r.file.dict[TAG.PatientName])).toBe(r.patient.pseudonym);
    expect(r.patient.pseudonym).toMatch(/^RB[A-Z2-7]{20}$/);
  });

  it('leaves none of the planted values anywhere in the written file', () => {
    const p = firstPatient();
    for (const { file } of [ctSlice(p), mammoView(p)]) {
      const out = writeDicom(deidentify(file, ctx).file);
      const text = out.toString('latin1').toLowerCase();
      const utf8 = out.toString('utf8').toLowerCase();
      for (const v of plantedValues(p, 1)) {
        expect({
          value: v.length,
          found: text.includes(v.toLowerCase()) || utf8.includes(v.toLowerCase()),
        }).toEqual({ value: v.length, found: false });
      }
    }
  });

  it('removes every private element, nested private sequences included', () => {
    const r = deidentify(ctSlice().file, ctx);
    expect(Object.keys(r.file.dict).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1)).toEqual([]);
    expect(r.counts.private).toBeGreaterThanOrEqual(4);
  });

  it('remaps UIDs everywhere: top level, nested references and file meta, consistently', () => {
    const { file } = ctSlice();
    const r = deidentify(file, ctx);
    const origSop = str(file.dict[TAG.SOPInstanceUID]);
    expect(str(r.file.dict[TAG.SOPInstanceUID])).toBe(mapUid(ctx.keys, origSop));
    expect(str(r.file.meta[TAG.MediaStorageSOPInstanceUID])).toBe(mapUid(ctx.keys, origSop));
    expect(str(r.file.dict[TAG.StudyInstanceUID])).toBe(
      mapUid(ctx.keys, str(file.dict[TAG.StudyInstanceUID])),
    );
    const ref = (r.file.dict[TAG.ReferencedImageSequence]!.Value![0] as Dataset)[
      TAG.ReferencedSOPInstanceUID
    ];
    const origRef = (file.dict[TAG.ReferencedImageSequence]!.Value![0] as Dataset)[
      TAG.ReferencedSOPInstanceUID
    ];
    expect(str(ref)).toBe(mapUid(ctx.keys, str(origRef)));
    // class UIDs name kinds of things, not people: unchanged
    expect(str(r.file.dict[TAG.SOPClassUID])).toBe(str(file.dict[TAG.SOPClassUID]));
    expect(
      str((r.file.dict[TAG.ReferencedImageSequence]!.Value![0] as Dataset)[TAG.ReferencedSOPClassUID]),
    ).toBe(SOP_CLASS.CTImageStorage);
    expect(str(r.file.meta[TAG.ImplementationClassUID])).not.toBe(str(file.meta[TAG.ImplementationClassUID]));
    expect(r.file.meta[TAG.SourceApplicationEntityTitle]).toBeUndefined(); // source AE title
  });

  it('shifts every date by the per-patient offset and keeps times', () => {
    const { file } = ctSlice();
    const r = deidentify(file, ctx);
    expect(str(r.file.dict[TAG.StudyDate])).toBe(shiftDate('20240115', r.patient.dateShiftDays));
    expect(str(r.file.dict[TAG.AcquisitionDateTime])).toBe(
      `${shiftDate('20240115', r.patient.dateShiftDays)}101203.000000`,
    );
    expect(str(r.file.dict[TAG.StudyTime])).toBe('101010');
    expect(r.file.dict[TAG.PatientBirthDate]?.Value).toEqual([]); // birth date: Z
    expect(str(r.file.dict[TAG.LongitudinalTemporalInformationModified])).toBe('MODIFIED');
  });

  it('gives the same pseudonym and shift to every study of a patient', () => {
    const a = deidentify(ctSlice().file, ctx).patient;
    const b = deidentify(mammoView().file, ctx).patient;
    expect(b).toEqual(a);
  });

  it('keeps what research needs: laterality, view, instance number, pixel data', () => {
    const { file } = mammoView();
    const r = deidentify(file, ctx);
    for (const tag of [
      TAG.ImageLaterality,
      TAG.ViewPosition,
      TAG.InstanceNumber,
      TAG.Modality,
      TAG.Rows,
      TAG.Columns,
    ]) {
      expect(str(r.file.dict[tag])).toBe(str(file.dict[tag]));
    }
    expect(samePixelData(r.file.dict, file.dict)).toBe(true);
  });

  it('marks the output with the method and CID 7050 codes of the applied options', () => {
    const r = deidentify(ctSlice().file, ctx);
    expect(str(r.file.dict[TAG.PatientIdentityRemoved])).toBe('YES');
    const codes = (r.file.dict[TAG.DeidentificationMethodCodeSequence]!.Value as Dataset[]).map((i) =>
      str(i[TAG.CodeValue]),
    );
    expect(codes).toEqual(['113100', '113108', '113107']);
  });

  it('never changes its input', () => {
    const { file } = ctSlice();
    const before = snapshot(file.dict) + snapshot(file.meta);
    deidentify(file, ctx);
    expect(snapshot(file.dict) + snapshot(file.meta)).toBe(before);
  });

  it('writes byte-identical output for the same input, so a re-run is AlreadyStored', () => {
    const { bytes } = ctSlice();
    const a = writeDicom(deidentify(parseDicom(bytes), ctx).file);
    const b = writeDicom(deidentify(parseDicom(bytes), ctx).file);
    expect(a.equals(b)).toBe(true);
  });

  it('under the basic profile alone removes patient characteristics and empties dates', () => {
    const r = deidentify(ctSlice().file, testContext({ options: BASIC_OPTIONS }));
    expect(r.file.dict[TAG.PatientAge]).toBeUndefined(); // Patient's Age
    expect(r.file.dict[TAG.StudyDate]?.Value).toEqual([]); // Study Date: Z
    expect(r.file.dict[TAG.AcquisitionDate]).toBeUndefined(); // Acquisition Date: X/Z -> X
    expect(str(r.file.dict[TAG.LongitudinalTemporalInformationModified])).toBe('REMOVED');
  });

  it('keeps UIDs under Retain UIDs', () => {
    const { file } = ctSlice();
    const r = deidentify(file, testContext({ options: { ...BASIC_OPTIONS, retainUids: true } }));
    expect(str(r.file.dict[TAG.SOPInstanceUID])).toBe(str(file.dict[TAG.SOPInstanceUID]));
  });

  it('keys a missing PatientID by the study, so ID-less patients are not merged', () => {
    const a = ctSlice().file;
    const noId = { meta: a.meta, dict: { ...a.dict, [TAG.PatientID]: { vr: 'LO', Value: [] } } };
    const other = {
      meta: a.meta,
      dict: { ...noId.dict, [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['1.2.3.999'] } },
    };
    expect(deidentify(noId, ctx).patient.pseudonym).not.toBe(deidentify(other, ctx).patient.pseudonym);
  });
});

describe('shiftDate', () => {
  it('crosses month and leap-year boundaries', () => {
    expect(shiftDate('20240228', 1)).toBe('20240229');
    expect(shiftDate('20240301', -1)).toBe('20240229');
    expect(shiftDate('20231231', 1)).toBe('20240101');
  });
  it('refuses values that are not full dates', () => {
    expect(shiftDate('2024', 3)).toBeUndefined();
    expect(shiftDate('20230231', 3)).toBeUndefined();
  });
});

describe('pixel data compared by the gate', () => {
  const pixels = (...parts: number[][]) => ({
    [TAG.PixelData]: { vr: 'OB', Value: parts.map((p) => Uint8Array.from(p).buffer) },
  });

  it('finds the same bytes equal whatever their fragments, and one changed byte or a missing one different', () => {
    expect(samePixelData(pixels([1, 2, 3, 4, 5]), pixels([1, 2], [3, 4, 5]))).toBe(true);
    expect(samePixelData(pixels([1, 2], [3], [4, 5]), pixels([1, 2, 3], [4, 5]))).toBe(true);
    expect(samePixelData(pixels([1, 2, 3, 4, 5]), pixels([1, 2], [3, 9, 5]))).toBe(false);
    expect(samePixelData(pixels([1, 2, 3, 4, 5]), pixels([1, 2, 3, 4]))).toBe(false);
    expect(samePixelData(pixels([1]), {})).toBe(false);
    expect(samePixelData({}, {})).toBe(true);
  });
});
