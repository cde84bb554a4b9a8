import dcmjs from 'dcmjs';
import type { Dataset } from '../deid/types';

/**
 * Synthetic studies with identifying values planted everywhere a real one hides them: names, IDs,
 * dates, addresses, free text, nested sequences and a private group. None of it is a real person.
 */
export interface SamplePatient {
  readonly id: string;
  readonly issuer: string;
  readonly name: string; // DICOM PN, e.g. "Müller^Hans"
  readonly birthDate: string;
  readonly sex: 'M' | 'F' | 'O';
  readonly address: string;
  readonly phone: string;
}

export interface SampleStudyOptions {
  readonly studyIndex: number;
  readonly studyDate: string; // YYYYMMDD
  readonly size?: number; // CT: rows = columns
  readonly slices?: number;
  readonly mammoRows?: number;
  readonly mammoColumns?: number;
}

export interface SampleInstance {
  readonly bytes: Buffer;
  readonly sopInstanceUid: string;
}

const ROOT = '1.2.826.0.1.3680043.10.1179'; // an example root: these UIDs identify nothing real
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const MG_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

export function samplePatients(count: number): SamplePatient[] {
  const families = ['Müller', 'Dupont', 'Okonkwo', 'Yamada', 'Kowalski', 'Haddad', 'Lindqvist', 'Moreau'];
  const given = ['Hans', 'Marie', 'Chidi', 'Hanako', 'Zofia', 'Rami', 'Astrid', 'Lucien'];
  return Array.from({ length: count }, (_, i) => ({
    id: `MRN${String(740031 + i * 7919).padStart(8, '0')}`,
    issuer: 'SAINT-EXAMPLE-HOSP',
    name: `${families[i % families.length]}${i >= families.length ? i : ''}^${given[i % given.length]}`,
    birthDate: `19${50 + (i % 40)}0${1 + (i % 9)}1${i % 10}`,
    sex: (['F', 'M', 'O'] as const)[i % 3]!,
    address: `${12 + i} Rue des Lilas, 4000 Liège`,
    phone: `+32-4-555-${String(1000 + i).padStart(4, '0')}`,
  }));
}

/** Planted identifying values of a patient, as the integration tests search for them. */
export function plantedValues(p: SamplePatient, studyIndex: number): string[] {
  const [family = '', first = ''] = p.name.split('^');
  return [
    p.id,
    family,
    first,
    p.birthDate,
    p.address,
    p.phone,
    `ACC${p.id.slice(3)}${studyIndex}`,
    `Dr Referrer ${family}`,
    'Saint Example Hospital',
    'CTROOM-7',
    `note about ${family}`,
    `${p.id}-OTHER`,
  ];
}

function pn(value: string): unknown[] {
  return [{ Alphabetic: value }];
}

function pixels(rows: number, columns: number, seed: number): ArrayBuffer {
  const data = new Uint16Array(rows * columns);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = (x >>> 0) & 0x0fff;
  }
  return data.buffer;
}

interface InstanceSpec {
  readonly sopClass: string;
  readonly modality: string;
  readonly studyUid: string;
  readonly seriesUid: string;
  readonly sopUid: string;
  readonly seriesNumber: number;
  readonly instanceNumber: number;
  readonly rows: number;
  readonly columns: number;
  readonly extra: Dataset;
}

function buildInstance(p: SamplePatient, o: SampleStudyOptions, s: InstanceSpec): Buffer {
  const [family = ''] = p.name.split('^');
  const accession = `ACC${p.id.slice(3)}${o.studyIndex}`;
  const dict: Dataset = {
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
    '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY'] },
    '00080012': { vr: 'DA', Value: [o.studyDate] },
    '00080013': { vr: 'TM', Value: ['101500'] },
    '00080016': { vr: 'UI', Value: [s.sopClass] },
    '00080018': { vr: 'UI', Value: [s.sopUid] },
    '00080020': { vr: 'DA', Value: [o.studyDate] },
    '00080021': { vr: 'DA', Value: [o.studyDate] },
    '00080022': { vr: 'DA', Value: [o.studyDate] },
    '00080023': { vr: 'DA', Value: [o.studyDate] },
    '0008002A': { vr: 'DT', Value: [`${o.studyDate}101203.000000`] },
    '00080030': { vr: 'TM', Value: ['101010'] },
    '00080031': { vr: 'TM', Value: ['101100'] },
    '00080050': { vr: 'SH', Value: [accession] },
    '00080060': { vr: 'CS', Value: [s.modality] },
    '00080070': { vr: 'LO', Value: ['ACME Imaging'] },
    '00080080': { vr: 'LO', Value: ['Saint Example Hospital'] },
    '00080081': { vr: 'ST', Value: ['1 Hospital Square, Liège'] },
    '00080090': { vr: 'PN', Value: pn(`Dr Referrer ${family}^Anna`) },
    '00081010': { vr: 'SH', Value: ['CTROOM-7'] },
    '00081030': { vr: 'LO', Value: [`${s.modality} exam for ${p.name.replace('^', ' ')}`] },
    '0008103E': { vr: 'LO', Value: [`series of ${family}`] },
    '00081040': { vr: 'LO', Value: ['Radiology Department East'] },
    '00081070': { vr: 'PN', Value: pn('Operator^Olga') },
    '00081090': { vr: 'LO', Value: ['Model 9000'] },
    '00081110': {
      vr: 'SQ',
      Value: [
        {
          '00081150': { vr: 'UI', Value: ['1.2.840.10008.3.1.2.3.1'] },
          '00081155': { vr: 'UI', Value: [`${ROOT}.9.${p.id.slice(3)}.${o.studyIndex}`] },
        },
      ],
    },
    '00100010': { vr: 'PN', Value: pn(p.name) },
    '00100020': { vr: 'LO', Value: [p.id] },
    '00100021': { vr: 'LO', Value: [p.issuer] },
    '00100030': { vr: 'DA', Value: [p.birthDate] },
    '00100040': { vr: 'CS', Value: [p.sex] },
    '00101000': { vr: 'LO', Value: [`${p.id}-OTHER`] },
    '00101001': { vr: 'PN', Value: pn(`${family}^Née`) },
    '00101002': {
      vr: 'SQ',
      Value: [
        {
          '00100020': { vr: 'LO', Value: [`${p.id}-OTHER`] },
          '00100021': { vr: 'LO', Value: ['OTHER-HOSP'] },
        },
      ],
    },
    '00101010': { vr: 'AS', Value: ['054Y'] },
    '00101020': { vr: 'DS', Value: [1.72] },
    '00101030': { vr: 'DS', Value: [68] },
    '00101040': { vr: 'LO', Value: [p.address] },
    '00102154': { vr: 'SH', Value: [p.phone] },
    '001021B0': { vr: 'LT', Value: [`History noted by ${family}'s GP`] },
    '00104000': { vr: 'LT', Value: [`note about ${family}`] },
    '00181000': { vr: 'LO', Value: ['SN-4471-X'] },
    '00181030': { vr: 'LO', Value: [`protocol for ${family}`] },
    '0020000D': { vr: 'UI', Value: [s.studyUid] },
    '0020000E': { vr: 'UI', Value: [s.seriesUid] },
    '00200010': { vr: 'SH', Value: [`S${p.id.slice(-5)}`] },
    '00200011': { vr: 'IS', Value: [s.seriesNumber] },
    '00200013': { vr: 'IS', Value: [s.instanceNumber] },
    '00204000': { vr: 'LT', Value: [`note about ${family}`] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': { vr: 'US', Value: [s.rows] },
    '00280011': { vr: 'US', Value: [s.columns] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [12] },
    '00280102': { vr: 'US', Value: [11] },
    '00280103': { vr: 'US', Value: [0] },
    '00321032': { vr: 'PN', Value: pn(`Requester^${family}`) },
    '00400275': {
      vr: 'SQ',
      Value: [
        {
          '00321060': { vr: 'LO', Value: [`requested for ${family}`] },
          '00401001': { vr: 'SH', Value: [`RP${p.id.slice(-6)}`] },
          '00400009': { vr: 'SH', Value: [`SPS${p.id.slice(-6)}`] },
          '00080050': { vr: 'SH', Value: [accession] },
        },
      ],
    },
    // A private block, with a name and an ID inside, and a nested private sequence.
    '00090010': { vr: 'LO', Value: ['ACME_PRIVATE 1.0'] },
    '00091001': { vr: 'LO', Value: [p.name.replace('^', ' ')] },
    '00091002': { vr: 'SQ', Value: [{ '00091003': { vr: 'LO', Value: [p.id] } }] },
    '00091004': { vr: 'OB', Value: [Uint8Array.from(Buffer.from(`${p.id}\0`, 'latin1')).buffer] },
    '7FE00010': { vr: 'OW', Value: [pixels(s.rows, s.columns, s.instanceNumber * 7919 + s.seriesNumber)] },
    ...s.extra,
  };
  const meta: Dataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [s.sopClass] },
    '00020003': { vr: 'UI', Value: [s.sopUid] },
    '00020010': { vr: 'UI', Value: [EXPLICIT_LE] },
    '00020012': { vr: 'UI', Value: [`${ROOT}.0.1`] },
    '00020013': { vr: 'SH', Value: ['SAMPLEGEN'] },
    '00020016': { vr: 'AE', Value: ['CTROOM7AE'] },
  };
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = dict;
  return Buffer.from(dd.write());
}

function uidsFor(p: SamplePatient, o: SampleStudyOptions): { study: string; series: (n: number) => string } {
  const base = `${ROOT}.${p.id.slice(3)}.${o.studyIndex}`;
  return { study: `${base}.1`, series: (n) => `${base}.2.${n}` };
}

/** A CT series of `slices` 16-bit images; every slice after the first references the first. */
export function makeCtStudy(p: SamplePatient, o: SampleStudyOptions): SampleInstance[] {
  const size = o.size ?? 64;
  const slices = o.slices ?? 8;
  const uids = uidsFor(p, o);
  const series = uids.series(1);
  const sop = (i: number): string => `${series}.${i}`;
  return Array.from({ length: slices }, (_, idx) => {
    const i = idx + 1;
    const extra: Dataset = {
      '00180015': { vr: 'CS', Value: ['CHEST'] },
      '00200052': { vr: 'UI', Value: [`${series}.100`] },
      '00201041': { vr: 'DS', Value: [i * 2.5] },
    };
    if (i > 1) {
      extra['00081140'] = {
        vr: 'SQ',
        Value: [{ '00081150': { vr: 'UI', Value: [CT_IMAGE] }, '00081155': { vr: 'UI', Value: [sop(1)] } }],
      };
    }
    const spec: InstanceSpec = {
      sopClass: CT_IMAGE,
      modality: 'CT',
      studyUid: uids.study,
      seriesUid: series,
      sopUid: sop(i),
      seriesNumber: 1,
      instanceNumber: i,
      rows: size,
      columns: size,
      extra,
    };
    return { bytes: buildInstance(p, o, spec), sopInstanceUid: spec.sopUid };
  });
}

export const MAMMO_VIEWS = [
  { laterality: 'R', view: 'CC' },
  { laterality: 'L', view: 'CC' },
  { laterality: 'R', view: 'MLO' },
  { laterality: 'L', view: 'MLO' },
] as const;

/** A four-view screening mammogram (R/L x CC/MLO), one series per view as modalities commonly send it. */
export function makeMammoStudy(p: SamplePatient, o: SampleStudyOptions): SampleInstance[] {
  const rows = o.mammoRows ?? 96;
  const columns = o.mammoColumns ?? 80;
  const uids = uidsFor(p, o);
  return MAMMO_VIEWS.map((v, idx) => {
    const series = uids.series(idx + 1);
    const extra: Dataset = {
      '00180015': { vr: 'CS', Value: ['BREAST'] },
      '00185101': { vr: 'CS', Value: [v.view] },
      '00200062': { vr: 'CS', Value: [v.laterality] },
      '00200060': { vr: 'CS', Value: [v.laterality] },
      '00082218': {
        vr: 'SQ',
        Value: [
          {
            '00080100': { vr: 'SH', Value: ['T-04000'] },
            '00080102': { vr: 'SH', Value: ['SRT'] },
            '00080104': { vr: 'LO', Value: ['Breast'] },
          },
        ],
      },
    };
    const spec: InstanceSpec = {
      sopClass: MG_FOR_PRESENTATION,
      modality: 'MG',
      studyUid: uids.study,
      seriesUid: series,
      sopUid: `${series}.1`,
      seriesNumber: idx + 1,
      instanceNumber: idx + 1,
      rows,
      columns,
      extra,
    };
    return { bytes: buildInstance(p, o, spec), sopInstanceUid: spec.sopUid };
  });
}

/**
 * One multi-frame X-ray angiography instance of `frames` frames of
 * rows x columns 16-bit: the large-instance case for memory measurements (100 frames of 1024x1024
 * is 200 MiB of pixel data).
 */
export function makeMultiframeInstance(
  p: SamplePatient,
  o: SampleStudyOptions & { frames: number; rows: number; columns: number },
): SampleInstance {
  const uids = uidsFor(p, o);
  const series = uids.series(1);
  const frameBytes = o.rows * o.columns * 2;
  const pixelData = new Uint8Array(frameBytes * o.frames);
  const one = new Uint8Array(pixels(o.rows, o.columns, 4242));
  for (let f = 0; f < o.frames; f++) pixelData.set(one, f * frameBytes);
  const spec: InstanceSpec = {
    sopClass: '1.2.840.10008.5.1.4.1.1.12.1',
    modality: 'XA',
    studyUid: uids.study,
    seriesUid: series,
    sopUid: `${series}.1`,
    seriesNumber: 1,
    instanceNumber: 1,
    rows: o.rows,
    columns: o.columns,
    extra: {
      '00280008': { vr: 'IS', Value: [o.frames] },
      '7FE00010': { vr: 'OW', Value: [pixelData.buffer] },
    },
  };
  return { bytes: buildInstance(p, o, spec), sopInstanceUid: spec.sopUid };
}
