/**
 * Untrusted files (security review, issue 12 rows 1, 6 and 8): a deflate bomb is refused before
 * it exists in memory and counted against the memory budget; sequences nested too deep never reach
 * dcmjs; no reason quotes a value of the file, whatever parse error path it takes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import { parseDicom } from '../../src/dicom/file';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';
import { NO_ELEMENT, TAG, formatTag } from '../../src/dicom/tags';
import type { TargetContext } from '../../src/pipeline/context';
import { deidentifyAndVerify, prepare } from '../../src/pipeline/instance';
import { ctSlice, testContext } from '../helpers/samples';
import { ByteBudget } from '../../src/util/budget';
import { CORPORA } from '../helpers/realWorld';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

const PLANTED = 'DOE^JOHN 1970';
const MiB = 1024 * 1024;
const DEFLATED = TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian;

function ctx(maxInflatedBytes = 64 * MiB): TargetContext {
  return {
    deid: testContext(),
    maxInflatedBytes,
    budget: new ByteBudget(512 << 20),
  } as unknown as TargetContext;
}

function element(group: number, element: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(value.length, 8);
  else h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
}

/** A Part 10 file: preamble, "DICM", a file meta group naming `syntax`, then the dataset bytes as given. */
function withDataset(syntax: string, dataset: Buffer): Buffer {
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', uid(SOP_CLASS.CTImageStorage)),
    element(0x0002, 0x0003, 'UI', uid('1.2.826.0.1.3680043.10.543.77')),
    element(0x0002, 0x0010, 'UI', uid(syntax)),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM'),
    element(0x0002, 0x0000, 'UL', length),
    meta,
    dataset,
  ]);
}

const text = (s: string) => Buffer.from(s.length % 2 ? `${s} ` : s, 'latin1');
const uid = (s: string) => Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');

/** The slice's identifying header elements, explicit VR little endian. */
function header(extra: Buffer[] = []): Buffer {
  return Buffer.concat([
    element(0x0008, 0x0016, 'UI', uid(SOP_CLASS.CTImageStorage)),
    element(0x0008, 0x0018, 'UI', uid('1.2.826.0.1.3680043.10.543.77')),
    element(0x0008, 0x0060, 'CS', text('CT')),
    element(0x0010, 0x0010, 'PN', text('DOE^JOHN')),
    element(0x0010, 0x0020, 'LO', text('SYN1970')),
    element(0x0020, 0x000d, 'UI', uid('1.2.826.0.1.3680043.10.543.78')),
    element(0x0020, 0x000e, 'UI', uid('1.2.826.0.1.3680043.10.543.79')),
    ...extra,
  ]);
}

function reasonOf(out: Awaited<ReturnType<typeof prepare>>): string {
  return 'kind' in out ? out.reason : '(prepared)';
}

describe('a deflate bomb', () => {
  // 8192 x 8192 16-bit zeros: 128 MiB inflated from about 128 KiB.
  const pixels = Buffer.alloc(8192 * 8192 * 2);
  const dataset = Buffer.concat([
    header([
      element(0x0028, 0x0010, 'US', Buffer.from([0, 0x20])),
      element(0x0028, 0x0011, 'US', Buffer.from([0, 0x20])),
      element(0x0028, 0x0100, 'US', Buffer.from([16, 0])),
    ]),
    element(0x7fe0, 0x0010, 'OW', pixels),
  ]);
  const bomb = withDataset(DEFLATED, deflateRawSync(dataset));

  it('is small on the wire and refused above the configured inflated size, with the reason', async () => {
    expect(bomb.length).toBeLessThan(256 * 1024);
    const out = await prepare(bomb, ctx(64 * MiB));
    expect(reasonOf(out)).toBe(
      `conformance: ${formatTag(NO_ELEMENT)} parse: the deflated dataset inflates to more than 64 MiB (pipeline.maxInflatedMb)`,
    );
  });

  it('is refused by the parser before it is inflated whole', () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(() => parseDicom(bomb, { maxInflatedBytes: 16 * MiB })).toThrow(/inflates to more than 16 MiB/);
    // Node stops at maxOutputLength: far less than the 128 MiB the bomb holds was ever allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  });

  it('reserves its possible inflated size in the memory budget before inflating', async () => {
    const sizes: number[] = [];
    await deidentifyAndVerify(bomb, ctx(64 * MiB), undefined, async (n) => void sizes.push(n));
    expect(sizes).toHaveLength(1);
    expect(sizes[0]).toBeGreaterThanOrEqual(64 * MiB + bomb.length);
  });

  it('carries a deflated dataset as explicit VR, inflated once, its Pixel Data spliced rather than parsed (held about twice, not six times)', async () => {
    // 2048 x 2048 16-bit: 8 MiB inflated. Before: inflated, copied, parsed whole, written, deflated,
    // inflated and parsed again by the gate (725 MB RSS at 128 MiB).
    const big = Buffer.alloc(2048 * 2048 * 2, 3);
    const deflated = withDataset(
      DEFLATED,
      deflateRawSync(
        Buffer.concat([
          header([
            element(0x0028, 0x0010, 'US', Buffer.from([0, 0x08])),
            element(0x0028, 0x0011, 'US', Buffer.from([0, 0x08])),
            element(0x0028, 0x0100, 'US', Buffer.from([16, 0])),
          ]),
          element(0x7fe0, 0x0010, 'OW', big),
        ]),
      ),
    );
    const out = await prepare(deflated, ctx(64 * MiB));
    if ('kind' in out) throw new Error(out.reason);
    // The header as written, then the original Pixel Data element as it was inflated: one view.
    expect(out.parts).toHaveLength(2);
    expect(out.parts[1]!.subarray(12).equals(big)).toBe(true);
    const sent = parseDicom(out.parts[0]!);
    expect(sent.meta[TAG.TransferSyntaxUID]!.Value).toEqual([TRANSFER_SYNTAX.ExplicitVRLittleEndian]);
    expect(Buffer.concat(out.parts).toString('latin1')).not.toContain('DOE^JOHN');
  });

  it('carries a deflated file that inflates within the limit', async () => {
    const small = withDataset(DEFLATED, deflateRawSync(header()));
    const out = await prepare(small, ctx(64 * MiB));
    expect('kind' in out ? out.reason : 'prepared').toBe('prepared');
  });
});

describe('deeply nested sequences', () => {
  function nested(depth: number): Buffer {
    // ReferencedSeriesSequence inside itself, undefined lengths, `depth` levels.
    const open = Buffer.from([
      0x08, 0x00, 0x15, 0x11, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff,
      0xff, 0xff,
    ]);
    const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    return withDataset(
      TRANSFER_SYNTAX.ExplicitVRLittleEndian,
      Buffer.concat([
        header(),
        Buffer.concat(Array(depth).fill(open)),
        Buffer.concat(Array(depth).fill(close)),
      ]),
    );
  }

  it('are quarantined at 3000 levels before dcmjs reads them, quickly', async () => {
    const spy = jest.spyOn(dcmjs.data.DicomMessage as unknown as { _read: () => unknown }, '_read');
    const t0 = Date.now();
    const out = await prepare(nested(3000), ctx());
    expect(reasonOf(out)).toBe(
      `conformance: ${formatTag(NO_ELEMENT)} parse: the dataset cannot be read element by element: sequences are nested deeper than 64 levels`,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    // The file meta is read by dcmjs; the dataset never is.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(1);
    spy.mockRestore();
  });

  it('are carried at 10 levels', async () => {
    const out = await prepare(nested(10), ctx());
    expect('kind' in out ? out.reason : 'prepared').toBe('prepared');
  });
});

describe('parse errors quote nothing of the file', () => {
  const cases: Array<[string, () => Buffer]> = [
    [
      'an unknown Specific Character Set term',
      () =>
        withDataset(
          TRANSFER_SYNTAX.ExplicitVRLittleEndian,
          header([element(0x0008, 0x0005, 'CS', text(PLANTED))]),
        ),
    ],
    [
      'a second unknown term of an ISO 2022 set',
      () =>
        withDataset(
          TRANSFER_SYNTAX.ExplicitVRLittleEndian,
          header([element(0x0008, 0x0005, 'CS', text(`ISO 2022 IR 6\\${PLANTED}`))]),
        ),
    ],
    [
      'a VR that is not one',
      () =>
        withDataset(
          TRANSFER_SYNTAX.ExplicitVRLittleEndian,
          Buffer.concat([header(), Buffer.from(`\x08\x00\x30\x10${PLANTED}`, 'latin1')]),
        ),
    ],
    [
      'a length past the end',
      () =>
        withDataset(
          TRANSFER_SYNTAX.ExplicitVRLittleEndian,
          Buffer.concat([header(), element(0x0008, 0x1030, 'LO', text(PLANTED)).subarray(0, 14)]),
        ),
    ],
    ['a deflated dataset that is not deflate', () => withDataset(DEFLATED, Buffer.from(PLANTED, 'latin1'))],
    ['bytes that are not DICOM at all', () => Buffer.from(`${PLANTED} `.repeat(40), 'latin1')],
    [
      'no transfer syntax and a dataset that is no dataset',
      () =>
        Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from(PLANTED.repeat(20), 'latin1')]),
    ],
  ];

  it.each(cases)('%s', async (_label, make) => {
    const out = await prepare(make(), ctx());
    expect('kind' in out).toBe(true);
    const reason = reasonOf(out);
    for (const part of ['DOE', 'JOHN', '1970']) expect(reason).not.toContain(part);
  });

  it('a dcmjs failure whose message quotes a value', async () => {
    const { bytes } = ctSlice();
    const spy = jest
      .spyOn(dcmjs.data.DicomMessage as unknown as { _read: () => unknown }, '_read')
      .mockImplementation(() => {
        throw new Error(`Invalid value ${PLANTED} in ${formatTag(TAG.PatientName)}`);
      });
    try {
      const out = await prepare(bytes, ctx());
      expect(reasonOf(out)).toBe(
        `conformance: ${formatTag(NO_ELEMENT)} parse: dcmjs could not parse the dataset (Error)`,
      );
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a sequence stored as UN with a defined length (PS3.5 6.2.2, implicit VR items)', () => {
  // pydicom's rtdose_rle_1frame.dcm stores ReferencedRTPlanSequence so; dcmjs reads its items as
  // explicit VR and the reference UID passed through unmapped. The same instance in rtdose.dcm is
  // encoded plainly and is read.
  const dir = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
  it('is refused with the reason named, where the plainly encoded copy is read', () => {
    const un = readFileSync(`${dir}/rtdose_rle_1frame.dcm`);
    expect(() => parseDicom(un)).toThrow(/an element stored as UN holds sequence items of defined length/);
    expect(parseDicom(readFileSync(`${dir}/rtdose.dcm`)).dict[TAG.ReferencedRTPlanSequence]?.vr).toBe('SQ');
  });
});

describe('padding after the last element', () => {
  const mr = readFileSync(path.join(CORPORA.pydicom!, 'MR_small.dcm'));
  const run = async (bytes: Buffer) => {
    const warn = jest.fn();
    const out = await prepare(bytes, { ...ctx(), log: { warn } } as unknown as TargetContext);
    return { out, warn };
  };

  it('ignores zero bytes after the last element, logs their count only, and carries the same output', async () => {
    // The archive's case: megabytes of zeros after Pixel Data, which Orthanc and pydicom read.
    const padded = Buffer.concat([mr, Buffer.alloc(3 * MiB)]);
    const plain = await run(mr);
    const { out, warn } = await run(padded);
    if ('kind' in out || 'kind' in plain.out) throw new Error('quarantined');
    expect(Buffer.concat(out.parts).equals(Buffer.concat(plain.out.parts))).toBe(true);
    expect(warn).toHaveBeenCalledWith('zero bytes after the last element of the dataset ignored', {
      bytes: 3 * MiB,
    });
    expect(plain.warn).not.toHaveBeenCalled();
  });

  it('still refuses anything but zeros after the last element', async () => {
    const { out } = await run(Buffer.concat([mr, Buffer.alloc(64), Buffer.from('JUNK')]));
    expect(out).toMatchObject({ kind: 'quarantined', check: 'conformance' });
  });
});
