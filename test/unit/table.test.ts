/**
 * Generated from PS3.15 Table E.1-1 (2024b): one test per row. Each builds an instance carrying
 * the row's attribute (a valid value for its VR) at the top level and inside a sequence, writes and
 * reads it back, de-identifies it under the Basic Profile and under every option that names the
 * row, and checks the output against the row's action as the table states it (computed here from
 * the table's own codes, not from the engine's resolver). Every output must also pass the gate.
 */
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { parseDicom, writeDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { mapUid, pseudonymFor } from '../../src/deid/keys';
import { BASIC_OPTIONS } from '../../src/deid/profile';
import { PS315_TABLE } from '../../src/deid/table.generated';
import {
  OPTION_NAMES,
  type Dataset,
  type DicomElement,
  type OptionName,
  type ProfileOptions,
  type TableRow,
} from '../../src/deid/types';
import { shiftDate, shiftDateTime } from '../../src/deid/values';
import { verifyInstance } from '../../src/verify/instance';
import { testContext } from '../helpers/samples';
import { TAG, tagOf } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

/** A sequence the table does not list (kept), used to carry each attribute one level down. */
const CARRIER = TAG.AnatomicRegionSequence;
const NESTED_UID = '1.2.826.0.1.3680043.10.543.77';
/**
 * An IOD the generated PS3.3 tables do not know (defined after their 2008 edition): combined codes
 * take the stronger action, as the table states them.
 */
const SOP_CLASS_UID = SOP_CLASS.EncapsulatedSTLStorage;

function concreteTag(row: TableRow): string {
  const m = row.match;
  if (m.kind === 'tag') return m.tag;
  if (m.kind === 'private') return tagOf(0x0009, 0x1010);
  const group = m.groupValue.toString(16).toUpperCase().padStart(4, '0');
  return group + (m.element === null ? '3000' : m.element.toString(16).toUpperCase().padStart(4, '0'));
}

function vrOf(row: TableRow, tag: string): string {
  if (row.vr) return row.vr;
  if (tag.endsWith('4000')) return 'LT';
  if (tag === tagOf(0x0009, 0x1010)) return 'LO';
  return 'OB';
}

function sampleValue(vr: string, i: number): unknown[] {
  switch (vr) {
    case 'PN':
      return [{ Alphabetic: 'Synthname^Given' }];
    case 'DA':
      return ['20230507'];
    case 'TM':
      return ['101112'];
    case 'DT':
      return ['20230507101112'];
    case 'UI':
      return [`1.2.826.0.1.3680043.10.543.${i}`];
    case 'AE':
      return ['SYNAE'];
    case 'AS':
      return ['045Y'];
    case 'CS':
      return ['SYNCODE'];
    case 'DS':
      return ['12.5'];
    case 'IS':
      return ['42'];
    case 'US':
      return [7];
    case 'UR':
      return ['http://example.org/syn'];
    case 'OB':
    case 'UN':
      return [new Uint8Array([0x53, 0x59, 0x4e, 0x54, 0x48, 0x42, 0x49, 0x4e]).buffer];
    case 'SQ':
      return [
        {
          [TAG.CodeValue]: { vr: 'SH', Value: ['SYN01'] },
          [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [NESTED_UID] },
        },
      ];
    default:
      return ['Synthetic value'];
  }
}

function instance(tag: string, el: DicomElement, nested: boolean): DicomFile {
  const dict: Dataset = {
    [TAG.SOPClassUID]: { vr: 'UI', Value: [SOP_CLASS_UID] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.543.1000'] },
    [TAG.Modality]: { vr: 'CS', Value: ['ECG'] },
    [TAG.PatientID]: { vr: 'LO', Value: ['SYNID0001'] },
    [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.543.1001'] },
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.543.1002'] },
  };
  // The carrier item keeps a harmless element, so it survives when the row's attribute goes.
  const holder: Dataset = nested ? { [TAG.CodeValue]: { vr: 'SH', Value: ['CARRIER'] } } : dict;
  if (tag === tagOf(0x0009, 0x1010))
    holder[tagOf(0x0009, 0x0010)] = { vr: 'LO', Value: ['SYNTHETIC CREATOR'] };
  holder[tag] = el;
  if (nested) dict[CARRIER] = { vr: 'SQ', Value: [holder] };
  const meta: Dataset = {
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [SOP_CLASS_UID] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.543.1000'] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [TRANSFER_SYNTAX.ExplicitVRLittleEndian] },
  };
  // Written and read back, so every value went through a real encoding.
  return parseDicom(writeDicom({ meta, dict }));
}

/** The row's action as the table states it, for the options that are on. */
function tableAction(row: TableRow, options: ProfileOptions): string {
  const named = Object.entries(row.options).filter(([o]) => options[o as OptionName]);
  if (named.length > 0) return named.some(([, a]) => a === 'C') ? 'C' : 'K';
  if (row.basic === 'X/Z/U*') return 'U';
  if (row.basic.startsWith('X')) return 'X';
  if (row.basic === 'Z/D') return 'Z';
  return row.basic;
}

function texts(el: DicomElement | undefined): string[] {
  return (el?.Value ?? []).map((v) =>
    typeof v === 'object' && v !== null && 'Alphabetic' in v
      ? String((v as { Alphabetic: string }).Alphabetic)
      : typeof v === 'string' || typeof v === 'number'
        ? String(v).trim()
        : v instanceof ArrayBuffer
          ? Buffer.from(v).toString('hex')
          : '?',
  );
}

/** What is wrong with the output element for the action, or undefined. */
function check(
  action: string,
  row: TableRow,
  tag: string,
  orig: DicomElement,
  out: DicomElement | undefined,
  nested: boolean,
  shiftDays: number,
  options: ProfileOptions,
  keys: ReturnType<typeof testContext>['keys'],
): string | undefined {
  const before = texts(orig);
  const after = texts(out);
  if (tag === TAG.PatientID) {
    const want = nested ? pseudonymFor(keys, before[0]!, '') : undefined;
    if (!out || after[0] === before[0] || (want && after[0] !== want)) return 'PatientID not pseudonymised';
    return undefined;
  }
  // Retain Safe Private keeps only the dictionary's elements; this synthetic creator is not one.
  if (row.match.kind === 'private') return out ? 'unlisted private element kept' : undefined;
  switch (action) {
    case 'X':
      return out ? 'present, should be removed' : undefined;
    case 'Z':
      if (!out) return 'absent, should be present and empty';
      if (tag === TAG.PatientName && !nested)
        return after[0]?.startsWith('RB') ? undefined : 'not the pseudonym';
      return after.every((v) => v === '') ? undefined : 'should be empty';
    case 'D':
      if (!out) return 'absent, should hold a dummy';
      if (orig.vr === 'SQ') {
        const items = (out.Value ?? []) as Dataset[];
        const kept = texts(items[0]?.[TAG.CodeValue])[0] === 'SYN01';
        // SR content: one dummy TEXT item; graphic annotations: none (a dummy would draw on the image).
        if (tag === TAG.ContentSequence)
          return items.length === 1 && texts(items[0]![TAG.ValueType])[0] === 'TEXT' && !kept
            ? undefined
            : 'content not replaced by one dummy TEXT item';
        if (row.options.cleanGraphics) return items.length === 0 ? undefined : 'graphic annotations kept';
        // Codes that identify a person or an institution: replaced as a whole, never walked.
        if (([TAG.PersonIdentificationCodeSequence, TAG.InstitutionCodeSequence] as string[]).includes(tag))
          return items.length === 1 && texts(items[0]![TAG.CodeValue])[0] === 'REMOVED'
            ? undefined
            : 'identifying codes not replaced by the dummy code';
        return items.length === 1 ? undefined : 'sequence dummy wrong';
      }
      if (orig.vr === 'UI')
        return after[0] === mapUid(keys, before[0]!) ? undefined : 'UID not the keyed one';
      if (tag === TAG.PatientName && !nested)
        return after[0]?.startsWith('RB') ? undefined : 'not the pseudonym';
      return after.length > 0 && after.join() !== before.join() ? undefined : 'dummy equals the original';
    case 'U':
      if (!out) return 'absent, should be present';
      if (orig.vr === 'SQ') {
        const item = (out.Value ?? [])[0] as Dataset | undefined;
        return texts(item?.[TAG.ReferencedSOPInstanceUID])[0] === mapUid(keys, NESTED_UID)
          ? undefined
          : 'UIDs inside not remapped';
      }
      return after[0] === mapUid(keys, before[0]!) ? undefined : 'UID not the keyed one';
    case 'K':
      if (!out) return 'absent, should be kept';
      if (orig.vr === 'SQ') {
        const item = (out.Value ?? [])[0] as Dataset | undefined;
        const uid = texts(item?.[TAG.ReferencedSOPInstanceUID])[0];
        const want = options.retainUids ? NESTED_UID : mapUid(keys, NESTED_UID);
        return uid === want ? undefined : 'sequence content not kept (UIDs per Retain UIDs)';
      }
      return after.join() === before.join() ? undefined : 'changed, should be kept';
    case 'C': {
      if (orig.vr === 'SQ')
        return out && (out.Value ?? []).length === 1 ? undefined : 'cleaned sequence lost';
      const dateClean =
        options.retainLongitudinalModifiedDates && !!row.options.retainLongitudinalModifiedDates;
      if (dateClean && (orig.vr === 'DA' || orig.vr === 'DT')) {
        const fn = orig.vr === 'DA' ? shiftDate : shiftDateTime;
        return after[0] === fn(before[0]!, shiftDays) ? undefined : 'date not shifted by the patient offset';
      }
      if (dateClean && orig.vr === 'TM') return after.join() === before.join() ? undefined : 'time changed';
      // A UTC offset is kept only as +HHMM/-HHMM; the synthetic text is not one.
      if (dateClean && tag === TAG.TimezoneOffsetFromUTC)
        return after.every((v) => v === '') ? undefined : 'not an offset, kept';
      // Free text a Retain option marks C is written empty unless a Clean option names the row.
      const cleanOption = (['cleanDescriptors', 'cleanStructuredContent', 'cleanGraphics'] as const).some(
        (o) => options[o] && row.options[o] === 'C',
      );
      if (!cleanOption && ['LO', 'LT', 'SH', 'ST', 'UC', 'UT'].includes(orig.vr))
        return after.every((v) => v === '') ? undefined : 'free text kept without a Clean option';
      if (['AE', 'LO', 'LT', 'SH', 'ST', 'UC', 'UT'].includes(orig.vr))
        // The synthetic text holds nothing identifying, so cleaning keeps it as it is.
        return after.join() === before.join() ? undefined : 'clean text changed a harmless value';
      // No provable cleaning for bitmaps, binary or coded values: the basic action applies.
      return check(tableAction(row, BASIC_OPTIONS), row, tag, orig, out, nested, shiftDays, options, keys);
    }
  }
  return `unknown action ${action}`;
}

describe('PS3.15 Table E.1-1, row by row', () => {
  const rowsWithOptions = PS315_TABLE.map((row, i) => ({ row, i }));

  it('has the 621 rows of the 2024b table', () => {
    expect(PS315_TABLE).toHaveLength(621);
  });

  it.each(rowsWithOptions.map(({ row, i }) => [`${row.tag} ${row.keyword ?? row.name}`, row, i] as const))(
    '%s: the action of every profile that names it, top level and nested',
    (_label, row, i) => {
      const tag = concreteTag(row);
      const vr = vrOf(row, tag);
      const profiles: Array<[string, ProfileOptions]> = [['basic', BASIC_OPTIONS]];
      for (const name of OPTION_NAMES) {
        if (row.options[name]) profiles.push([name, { ...BASIC_OPTIONS, [name]: true }]);
      }
      const problems: string[] = [];
      for (const nested of [false, true]) {
        const file = instance(tag, { vr, Value: sampleValue(vr, i) }, nested);
        const holderIn = nested ? ((file.dict[CARRIER]!.Value ?? [])[0] as Dataset) : file.dict;
        const orig = holderIn[tag]!;
        for (const [label, options] of profiles) {
          const ctx = testContext({ name: label, options });
          const result = deidentify(file, ctx);
          const written = parseDicom(writeDicom(result.file));
          const holderOut = nested
            ? ((written.dict[CARRIER]?.Value ?? [])[0] as Dataset | undefined)
            : written.dict;
          const action = tableAction(row, options);
          const where = `${nested ? 'nested' : 'top'} ${label} (${action})`;
          if (nested && !holderOut) {
            problems.push(`${where}: carrier sequence lost`);
            continue;
          }
          const problem = check(
            action,
            row,
            tag,
            orig,
            holderOut![tag],
            nested,
            result.patient.dateShiftDays,
            options,
            ctx.keys,
          );
          if (problem) problems.push(`${where}: ${problem}`);
          const verdict = verifyInstance(file, written, ctx, result.patient);
          if (!verdict.ok)
            problems.push(
              `${where}: gate refused: ${verdict.failures.map((f) => `${f.check} ${f.tag} ${f.detail}`).join('; ')}`,
            );
          if (str(written.dict[TAG.PatientIdentityRemoved]) !== 'YES') problems.push(`${where}: not marked`);
        }
      }
      expect(problems).toEqual([]);
    },
  );
});

describe('sequences whose action is D, replaced whole and never walked', () => {
  const planted = 'PLANTED7788';
  const dRows = PS315_TABLE.filter((r) => r.vr === 'SQ' && r.match.kind === 'tag' && r.basic.includes('D'));

  it('are the rows the table gives: content, flow, graphics, institution, operator, person, procedure step, observer', () => {
    expect(dRows.map((r) => r.keyword)).toEqual([
      'ContentSequence',
      'FlowIdentifierSequence',
      'GraphicAnnotationSequence',
      'InstitutionCodeSequence',
      'OperatorIdentificationSequence',
      'PersonIdentificationCodeSequence',
      'ReferencedPerformedProcedureStepSequence',
      'VerifyingObserverSequence',
    ]);
  });

  it.each(dRows.map((r) => [`${r.tag} ${r.keyword}`, r] as const))(
    '%s: a value planted inside an item is gone, top level and nested, under every profile that names it',
    (_label, row) => {
      // Elements the table does not list, which a walk of the items would keep as they are.
      const item: Dataset = {
        [TAG.CodeValue]: { vr: 'SH', Value: [planted] },
        [TAG.CodeMeaning]: { vr: 'LO', Value: [`${planted} MEANING`] },
      };
      const profiles: Array<[string, ProfileOptions]> = [['basic', BASIC_OPTIONS]];
      for (const name of OPTION_NAMES)
        if (row.options[name]) profiles.push([name, { ...BASIC_OPTIONS, [name]: true }]);
      const found: string[] = [];
      for (const nested of [false, true]) {
        const file = instance(concreteTag(row), { vr: 'SQ', Value: [item] }, nested);
        for (const [label, options] of profiles) {
          const ctx = testContext({ name: label, options });
          const result = deidentify(file, ctx);
          const bytes = writeDicom(result.file);
          // Retain options keep the sequence (K), Clean options clean it of identity (C): under
          // the basic profile's D (or X) nothing of the item may remain.
          const action = tableAction(row, options);
          if (['D', 'X'].includes(action) && bytes.toString('latin1').includes(planted))
            found.push(`${nested ? 'nested' : 'top'} ${label}`);
          const verdict = verifyInstance(file, parseDicom(bytes), ctx, result.patient);
          if (!verdict.ok) found.push(`${nested ? 'nested' : 'top'} ${label}: gate refused`);
        }
      }
      expect(found).toEqual([]);
    },
  );
});
