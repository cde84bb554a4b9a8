/**
 * Destinations behind one seam: one study routed at once to an Orthanc peer and to a DICOMweb
 * server (a real Orthanc with Debian's DICOMweb plugin: STOW-RS, WADO-RS, QIDO-RS), each holding
 * every instance once, byte-identical where asked (WADO-RS + MD5); a rerun stores nothing twice;
 * a server that refuses the credentials, and one that is down, are reported by name.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { DicomWebDestination, firstPart } from '../../src/destinations/dicomweb';
import { instancesOfStudy } from '../../src/store/instances';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc, freePort, getJson, request } from '../helpers/orthanc';
import { dimseEntry, startStorescp } from '../helpers/dimse';
import { DimseDestination } from '../../src/destinations/dimse';
import { parseDicom } from '../../src/dicom/file';
import { str } from '../../src/dicom/values';
import { instanceKeyOf, TEST_SECRET } from '../helpers/samples';
import nock from 'nock';
import { TAG } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const web = new TestOrthanc('research', {
  Plugins: [DICOMWEB_PLUGIN],
  DicomWeb: { Enable: true, Root: '/dicom-web/' },
  AuthenticationEnabled: true,
  RegisteredUsers: { stow: 'stow-password-for-the-destinations-test' },
});
let studyId = '';
const sent = 3;

function app(dataDir: string, destinations: Record<string, unknown>): BridgeApp {
  const file = path.join(dataDir, 'bridge.json');
  writeFileSync(
    file,
    JSON.stringify({
      destinations,
      routes: [{ name: 'everywhere', destinations: ['research', ...Object.keys(destinations)] }],
    }),
  );
  return new BridgeApp(
    loadConfig({
      env: {
        BRIDGE_SOURCE_URL: clinical.url,
        BRIDGE_RESEARCH_URL: research.url,
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: TEST_SECRET,
        BRIDGE_DEST_WEB_PASSWORD: 'stow-password-for-the-destinations-test',
      },
      configPath: file,
    }),
    { console: false },
  );
}

const webDestination = { web: { kind: 'dicomweb', url: '', username: 'stow', confirm: 'md5' } };

/**
 * nock intercepts every request of the process while it is active (and holds the bytes it is given
 * to write after it said they were written): it is on only inside the tests that use it.
 */
async function withNock(fn: () => Promise<void>): Promise<void> {
  nock.activate();
  try {
    await fn();
  } finally {
    nock.cleanAll();
    nock.restore();
  }
}

beforeAll(async () => {
  nock.restore();
  await Promise.all([clinical.start(), research.start(), web.start()]);
  webDestination.web.url = `${web.url}/dicom-web`;
  const [p] = samplePatients(1);
  for (const inst of makeCtStudy(p!, { studyIndex: 1, studyDate: '20240115', slices: sent }))
    studyId = (await clinical.upload(inst.bytes)).ParentStudy;
  await clinical.waitStable([studyId]);
});

afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy(), web.destroy()]);
});

describe('a study routed to an Orthanc peer and a DICOMweb server at once', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-destinations-'));

  it('puts every instance once on each, byte-identical on the DICOMweb server (WADO-RS), and a rerun adds nothing', async () => {
    // The second run has lost every record (a crash before anything was written down): it stores
    // every instance again, and each destination must answer "already there", not hold it twice.
    for (const dir of [dataDir, mkdtempSync(path.join(os.tmpdir(), 'bridge-destinations-replay-'))]) {
      const a = app(dir, webDestination);
      try {
        const summary = await a.runOnce();
        expect(summary.studies).toMatchObject({ done: 1, failed: 0, quarantined: 0 });
      } finally {
        await a.stop();
      }
    }
    expect((await getJson<string[]>(`${research.url}/instances`)).length).toBe(sent);
    expect((await web.get<string[]>('/instances')).length).toBe(sent);
    const a = app(dataDir, webDestination);
    try {
      // Operators see each destination with its kind and what it proves; the audit says what was proved.
      expect((await a.service.status()).destinations).toEqual([
        { name: 'research', kind: 'orthanc', proves: 'bytes' },
        { name: 'web', kind: 'dicomweb', proves: 'bytes' },
      ]);
      const audit = (await a.service.auditRecords({})).filter((r) => r.destination === 'web');
      expect(audit.at(-1)?.checks).toMatchObject({ study: sent, 'confirmed-bytes': sent });
      const onWeb = await instancesOfStudy(a.db, studyId, 'web');
      const onResearch = await instancesOfStudy(a.db, studyId, 'research');
      expect([...onWeb.values()].filter((r) => r.state === 'pushed')).toHaveLength(sent);
      // The same bytes went to both (one profile): each server gives back exactly what it was sent.
      const md5s = new Set([...onResearch.values()].map((r) => r.md5));
      for (const r of onWeb.values()) {
        expect(md5s.has(r.md5)).toBe(true);
        const [s, se, i] = r.researchId!.split('/');
        const res = await request(
          'GET',
          `${web.url}/dicom-web/studies/${s}/series/${se}/instances/${i}`,
          undefined,
          {
            ...web.headers,
            Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
          },
        );
        const part = firstPart(res.body, String(res.headers['content-type']));
        expect(createHash('md5').update(part!).digest('hex')).toBe(r.md5);
      }
    } finally {
      await a.stop();
    }
  });
});

describe('DICOMweb faults, each named', () => {
  const base = { kind: 'dicomweb' as const, username: 'stow', timeoutMs: 5000, explorerUrl: '' };
  const key = { patientId: 'P', studyUid: '2.25.1', seriesUid: '2.25.2', sopUid: '2.25.3' };

  /** A STOW-RS answer listing the instance in FailedSOPSequence with a FailureReason. */
  const failedWith = (reason: number) => ({
    [TAG.FailedSOPSequence]: {
      vr: 'SQ',
      Value: [
        {
          [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [key.sopUid] },
          [TAG.FailureReason]: { vr: 'US', Value: [reason] },
        },
      ],
    },
  });

  it('says the credentials were refused (401), never retrying as a transient fault', async () => {
    const d = new DicomWebDestination('web', { ...base, url: `${web.url}/dicom-web`, password: 'wrong' });
    await expect(d.store([Buffer.from('x')], key)).rejects.toMatchObject({
      code: 'DICOMWEB_HTTP_401',
      message: expect.stringMatching(/check the web credentials or token/),
    });
  });

  it('says the server cannot be reached, as a fault another try may get past', async () => {
    const d = new DicomWebDestination('web', {
      ...base,
      url: `http://127.0.0.1:${await freePort()}/dicom-web`,
    });
    await expect(d.store([Buffer.from('x')], key)).rejects.toMatchObject({
      code: 'DICOMWEB_ECONNREFUSED',
      retryable: true,
    });
  });

  it('says what a real server answered to a body that is no DICOM file', async () => {
    const d = new DicomWebDestination('web', {
      ...base,
      url: `${web.url}/dicom-web`,
      password: 'stow-password-for-the-destinations-test',
    });
    await expect(d.store([Buffer.from('not a DICOM file at all')], key)).rejects.toMatchObject({
      code: 'DICOMWEB_HTTP_400',
      message: 'web DICOMweb STOW-RS answered 400',
    });
  });

  it('sends instances stored at about the same moment in one STOW-RS request, and one bad instance fails alone', async () => {
    // A counting proxy in front of the real server: how many STOW-RS requests, and how many parts each.
    const parts: number[] = [];
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST')
          parts.push(body.toString('latin1').split('Content-Type: application/dicom\r\n').length - 1);
        const out = http.request(
          { host: '127.0.0.1', port: web.port, path: req.url, method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as { port: number }).port;
      const d = new DicomWebDestination('web', {
        ...base,
        url: `http://127.0.0.1:${port}/dicom-web`,
        password: 'stow-password-for-the-destinations-test',
        batch: 32,
      });
      const [p] = samplePatients(1);
      const instances = makeCtStudy(p!, { studyIndex: 9, studyDate: '20240301', slices: 3 }).map((inst) => ({
        bytes: inst.bytes,
        key: instanceKeyOf(inst.bytes),
      }));
      const receipts = await Promise.all(instances.map((i) => d.store([i.bytes], i.key)));
      expect(receipts.map((r) => r.already)).toEqual([false, false, false]);
      expect(parts).toEqual([3]);
      for (const i of instances) expect(await d.held(d.idOf(i.key))).toBeDefined();
      // A batch with a body that is no DICOM file: the server stores the others and refuses the
      // request (400); the bad one is named, the good ones are stored.
      parts.length = 0;
      const answers = await Promise.allSettled([
        d.store([instances[0]!.bytes], instances[0]!.key),
        d.store([Buffer.from('not a DICOM file at all')], key),
        d.store([instances[1]!.bytes], instances[1]!.key),
      ]);
      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((answers[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'DICOMWEB_HTTP_400' });
      expect(parts).toEqual([3]);
    } finally {
      proxy.close();
    }
  });

  it('sends each instance again alone when a server refuses a whole batch without naming one (nock: Orthanc names them)', () =>
    withNock(async () => {
      const d = new DicomWebDestination('web', { ...base, url: 'http://127.0.0.1:1/dicom-web', batch: 32 });
      const keyOf = (n: number) => ({ ...key, sopUid: `2.25.10${n}` });
      const listed = (n: number) => ({
        [TAG.ReferencedSOPSequence]: {
          vr: 'SQ',
          Value: [{ [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [`2.25.10${n}`] } }],
        },
      });
      const scope = nock('http://127.0.0.1:1')
        .post('/dicom-web/studies')
        .reply(400, '')
        .post('/dicom-web/studies')
        .times(3)
        .reply((_uri, body) => {
          const text = String(body);
          if (text.includes('instance-2')) return [400, ''];
          return [200, listed(text.includes('instance-1') ? 1 : 3)];
        });
      const answers = await Promise.allSettled(
        [1, 2, 3].map((n) => d.store([Buffer.from(`instance-${n}`)], keyOf(n))),
      );
      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((answers[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'DICOMWEB_HTTP_400' });
      expect(scope.isDone()).toBe(true);
    }));

  it('bounds what a DICOMweb server may answer, and names an answer that is no JSON (nock: a real server will not misbehave so)', () =>
    withNock(async () => {
      const url = 'http://127.0.0.1:1/dicom-web';
      const d = new DicomWebDestination('web', { ...base, url, confirm: 'presence' });
      nock('http://127.0.0.1:1')
        .get('/dicom-web/instances')
        .query(true)
        .reply(200, Buffer.alloc(17 * 1024 * 1024, 0x20), { 'Content-Type': 'application/dicom+json' });
      await expect(d.held('2.25.1/2.25.2/2.25.3')).rejects.toMatchObject({
        code: 'DICOMWEB_TOO_LARGE',
        message: 'web DICOMweb GET /instances answered more than 16 MiB, the most this answer may hold',
      });
      nock('http://127.0.0.1:1').get('/dicom-web/instances').query(true).reply(200, '[{"00080018": ');
      await expect(d.held('2.25.1/2.25.2/2.25.3')).rejects.toMatchObject({
        code: 'DICOMWEB_BAD_JSON',
        message: 'web DICOMweb QIDO-RS answered something that is not JSON',
      });
      nock.cleanAll();
    }));

  it('names the FailureReason of a FailedSOPSequence (a refusal no real server here gives on demand: nock)', () =>
    withNock(async () => {
      const url = 'http://127.0.0.1:1/dicom-web';
      nock('http://127.0.0.1:1').post('/dicom-web/studies').reply(409, failedWith(0xc000));
      const d = new DicomWebDestination('web', { ...base, url });
      await expect(d.store([Buffer.from('x')], key)).rejects.toMatchObject({
        code: 'DICOMWEB_STOW_FAILED',
        message: 'web DICOMweb STOW-RS refused the instance: cannot understand (FailureReason 0xc000)',
        retryable: false,
      });
      // A duplicate is "already there", not a failure.
      nock('http://127.0.0.1:1').post('/dicom-web/studies').reply(202, failedWith(0x0111));
      await expect(d.store([Buffer.from('x')], key)).resolves.toMatchObject({
        already: true,
        id: '2.25.1/2.25.2/2.25.3',
      });
      nock.cleanAll();
    }));
});

describe('DICOM C-STORE peers: an Orthanc DICOM port (confirmed by C-FIND) and dcmtk storescp (no confirmation), beside an Orthanc peer and a DICOMweb server in one config', () => {
  let pacsPort = 0;
  let pacs: TestOrthanc;
  let scp: Awaited<ReturnType<typeof startStorescp>>;
  const scpDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-storescp-'));

  beforeAll(async () => {
    pacs = new TestOrthanc('research', {
      DicomServerEnabled: true,
      DicomAet: 'PACS',
      DicomModalities: { bridge: ['BRIDGE', '127.0.0.1', 104] },
    });
    await pacs.start();
    pacsPort = pacs.dicomPort;
    scp = await startStorescp(scpDir);
  });

  afterAll(async () => {
    scp?.proc.kill();
    await pacs?.destroy();
  });

  const dimse = () => ({
    ...webDestination,
    pacs: dimseEntry(pacsPort, 'PACS', 'c-find'),
    scp: dimseEntry(scp.port, 'STORESCP'),
  });

  it('stores every instance once on each of the four, confirms on the Orthanc by C-FIND, and a replay with lost state adds nothing', async () => {
    const first = mkdtempSync(path.join(os.tmpdir(), 'bridge-dimse-'));
    for (const dir of [first, mkdtempSync(path.join(os.tmpdir(), 'bridge-dimse-replay-'))]) {
      const a = app(dir, dimse());
      try {
        expect((await a.runOnce()).studies).toMatchObject({ done: 1, failed: 0, quarantined: 0 });
      } finally {
        await a.stop();
      }
    }
    expect((await pacs.get<string[]>('/instances')).length).toBe(sent);
    // One config, four destinations: research (Orthanc REST), web (DICOMweb), pacs and scp (DIMSE).
    expect((await research.get<string[]>('/instances')).length).toBe(sent);
    // The DICOMweb server holds other tests' instances too: this study's (one Orthanc ID for its UIDs).
    const [studyOnResearch] = await research.get<string[]>('/studies');
    expect((await web.get<string[]>(`/studies/${studyOnResearch}/instances`)).length).toBe(sent);
    const received = readdirSync(scpDir);
    expect(received).toHaveLength(sent);
    const a = app(first, dimse());
    try {
      expect((await a.service.status()).destinations.filter((d) => d.kind === 'dimse')).toEqual([
        { name: 'pacs', kind: 'dimse', proves: 'presence' },
        { name: 'scp', kind: 'dimse', proves: 'nothing' },
      ]);
      // "Open in research" only where there is a viewer: the research Orthanc, not the DICOM peers.
      expect((await a.service.studyState(studyId)).destinations.map((d) => d.destination)).toEqual([
        'research',
      ]);
      const audit = await a.service.auditRecords({});
      expect(audit.find((r) => r.destination === 'pacs')?.checks).toMatchObject({
        'confirmed-presence': sent,
      });
      expect(audit.find((r) => r.destination === 'web')?.checks).toMatchObject({ 'confirmed-bytes': sent });
      expect(audit.find((r) => r.destination === 'research')?.checks).toMatchObject({
        'confirmed-bytes': sent,
      });
      expect(audit.find((r) => r.destination === 'scp')?.checks).toMatchObject({ 'confirmed-nothing': sent });
      // storescp wrote its own file meta: the datasets are the ones sent (the same SOP instances as research).
      const onScp = await instancesOfStudy(a.db, studyId, 'scp');
      const sops = new Set([...onScp.values()].map((r) => r.researchId!.split('/')[2]));
      for (const f of received)
        expect(sops.has(str(parseDicom(readFileSync(path.join(scpDir, f))).dict[TAG.SOPInstanceUID]))).toBe(
          true,
        );
    } finally {
      await a.stop();
    }
  });

  it('with maxInstancesPerAssociation, sends instances stored at about the same moment over one association, each answered by its own status', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-storescp-batch-'));
    const peer = await startStorescp(dir);
    try {
      const d = new DimseDestination('scp', {
        kind: 'dimse',
        url: '',
        explorerUrl: '',
        timeoutMs: 5000,
        batch: 64,
        dimse: { host: '127.0.0.1', port: peer.port, calledAet: 'STORESCP', callingAet: 'BRIDGE' },
      });
      const [p] = samplePatients(1);
      const batch = makeCtStudy(p!, { studyIndex: 8, studyDate: '20240302', slices: 4 });
      const keyOf = (n: number) => ({
        patientId: 'P',
        studyUid: '2.25.31',
        seriesUid: '2.25.32',
        sopUid: `2.25.3${n}`,
      });
      // Three files, and one that is no DICOM file: storescu cannot send it, the others go.
      const answers = await Promise.allSettled([
        ...batch.slice(0, 3).map((inst, n) => d.store([inst.bytes], keyOf(n))),
        d.store([Buffer.from('not a DICOM file at all')], keyOf(9)),
      ]);
      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      expect(readdirSync(dir)).toHaveLength(3);
      expect(peer.associations()).toBe(1);
    } finally {
      peer.proc.kill();
    }
  });

  it('names a rejected association and a peer that is down', async () => {
    const refusing = await startStorescp(
      mkdtempSync(path.join(os.tmpdir(), 'bridge-storescp-refuse-')),
      true,
    );
    const key = { patientId: 'P', studyUid: '2.25.1', seriesUid: '2.25.2', sopUid: '2.25.3' };
    const cfg = (port: number) => ({
      kind: 'dimse' as const,
      url: '',
      explorerUrl: '',
      timeoutMs: 5000,
      dimse: { host: '127.0.0.1', port, calledAet: 'STORESCP', callingAet: 'BRIDGE' },
    });
    const file = readFileSync(path.join(scpDir, readdirSync(scpDir)[0]!));
    try {
      await expect(new DimseDestination('scp', cfg(refusing.port)).store([file], key)).rejects.toMatchObject({
        code: 'DIMSE_ASSOCIATION_REJECTED',
        message: expect.stringMatching(/^scp: the DICOM peer rejected the association \(Rejected Permanent/),
      });
    } finally {
      refusing.proc.kill();
    }
    await expect(new DimseDestination('scp', cfg(await freePort())).store([file], key)).rejects.toMatchObject(
      {
        code: 'DIMSE_UNREACHABLE',
        retryable: true,
      },
    );
  });
});

describe('a folder as a destination', () => {
  it('writes every instance once as the bytes sent, confirmed by reading them back, and a replay rewrites in place', async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'bridge-folder-destination-'));
    const destinations = {
      files: { kind: 'folder', dir: folder, pattern: '{pseudonym}/{Modality}/{SOPInstanceUID}.dcm' },
    };
    const first = mkdtempSync(path.join(os.tmpdir(), 'bridge-folder-'));
    for (const dir of [first, mkdtempSync(path.join(os.tmpdir(), 'bridge-folder-replay-'))]) {
      const a = app(dir, destinations);
      try {
        expect((await a.runOnce()).studies).toMatchObject({ done: 1, failed: 0, quarantined: 0 });
      } finally {
        await a.stop();
      }
    }
    const a = app(first, destinations);
    try {
      const records = [...(await instancesOfStudy(a.db, studyId, 'files')).values()];
      expect(records.filter((r) => r.state === 'pushed')).toHaveLength(sent);
      const written = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(written).toHaveLength(sent);
      for (const r of records) {
        expect(r.researchId).toMatch(/^RB[A-Z2-7]{20}\/CT\/[0-9.]+\.dcm$/);
        const bytes = readFileSync(path.join(folder, r.researchId!));
        expect(createHash('md5').update(bytes).digest('hex')).toBe(r.md5);
      }
      expect((await a.service.status()).destinations).toContainEqual({
        name: 'files',
        kind: 'folder',
        proves: 'bytes',
      });
    } finally {
      await a.stop();
    }
  });
});

describe('DICOM storage commitment: an Orthanc DICOM port takes responsibility for what was sent', () => {
  let pacsPort = 0;
  let reportPort = 0;
  let lostPort = 0;
  let pacs: TestOrthanc;

  beforeAll(async () => {
    [reportPort, lostPort] = [await freePort(), await freePort()];
    // Orthanc sends its N-EVENT-REPORT on an association of its own, to the modality it knows
    // under the caller's AE title: the bridge's listener.
    pacs = new TestOrthanc('research', {
      DicomServerEnabled: true,
      DicomAet: 'PACS',
      DicomModalities: {
        bridge: ['BRIDGE', '127.0.0.1', reportPort],
        // Known, but at an address where nothing listens: its reports never arrive.
        lost: ['LOST', '127.0.0.1', lostPort],
      },
    });
    await pacs.start();
    pacsPort = pacs.dicomPort;
  });

  afterAll(async () => {
    await pacs?.destroy();
  });

  const committed = (callingAet: string, reportTimeoutMs = 30_000) => ({
    pacs: {
      kind: 'dimse',
      host: '127.0.0.1',
      port: pacsPort,
      calledAet: 'PACS',
      callingAet,
      confirm: 'commitment',
      commitment: { port: reportPort, reportTimeoutMs },
    },
  });

  it('stores the study, has it committed (N-ACTION, then the peer N-EVENT-REPORT), and the audit says so', async () => {
    const a = app(mkdtempSync(path.join(os.tmpdir(), 'bridge-commitment-')), committed('BRIDGE'));
    try {
      expect((await a.runOnce()).studies).toMatchObject({ done: 1, failed: 0, quarantined: 0 });
      expect((await pacs.get<string[]>('/instances')).length).toBe(sent);
      expect((await a.service.status()).destinations.find((d) => d.name === 'pacs')).toEqual({
        name: 'pacs',
        kind: 'dimse',
        proves: 'commitment',
      });
      const audit = await a.service.auditRecords({});
      expect(audit.find((r) => r.destination === 'pacs')?.checks).toMatchObject({
        'confirmed-commitment': sent,
      });
      // Each receipt names the SOP class with the instance: the request must name both.
      const receipts = [...(await instancesOfStudy(a.db, studyId, 'pacs')).values()];
      expect(receipts.map((r) => r.researchId!.split('/'))).toEqual(
        Array.from({ length: sent }, () => [
          expect.any(String),
          expect.any(String),
          expect.any(String),
          expect.stringMatching(/^[0-9.]+$/),
        ]),
      );
    } finally {
      await a.stop();
    }
  });

  /** A never-stored instance, named with its class as a commitment request names it. */
  const key = {
    patientId: 'P',
    studyUid: '2.25.11',
    seriesUid: '2.25.12',
    sopUid: '2.25.13',
    sopClassUid: SOP_CLASS.CTImageStorage,
  };
  /** A DICOM peer confirmed by storage commitment, its report expected on `listen`. */
  const peer = (
    port: number,
    calledAet: string,
    callingAet: string,
    listen: number,
    reportTimeoutMs: number,
  ) => ({
    kind: 'dimse' as const,
    url: '',
    explorerUrl: '',
    timeoutMs: 5000,
    confirm: 'commitment' as const,
    dimse: { host: '127.0.0.1', port, calledAet, callingAet, commitment: { port: listen, reportTimeoutMs } },
  });

  it('says the peer refused to commit an instance it does not hold, and that a report that never comes timed out', async () => {
    const known = new DimseDestination('pacs', peer(pacsPort, 'PACS', 'BRIDGE', reportPort, 30_000));
    try {
      // Never stored: the peer's report lists it in FailedSOPSequence, so it is not held.
      expect(await known.held(known.idOf(key))).toBeUndefined();
    } finally {
      await known.close();
    }
    // The peer knows our AE title at another address: its report never reaches us.
    const unknown = new DimseDestination('pacs', peer(pacsPort, 'PACS', 'LOST', reportPort, 1500));
    try {
      await expect(unknown.held(unknown.idOf(key))).rejects.toMatchObject({
        code: 'DIMSE_COMMITMENT_TIMEOUT',
        retryable: true,
        message: expect.stringMatching(/^pacs: no storage commitment report within 1500 ms/),
      });
    } finally {
      await unknown.close();
    }
  });

  it('names a peer without storage commitment (dcmtk storescp) and a listener port already in use', async () => {
    const scp = await startStorescp(mkdtempSync(path.join(os.tmpdir(), 'bridge-storescp-nocommit-')));
    const plain = new DimseDestination('scp', peer(scp.port, 'STORESCP', 'BRIDGE', await freePort(), 5000));
    try {
      await expect(plain.held(plain.idOf(key))).rejects.toMatchObject({
        code: 'DIMSE_COMMITMENT_FAILED',
        message: expect.stringMatching(/^scp: the DICOM peer answered no N-ACTION/),
      });
    } finally {
      await plain.close();
      scp.proc.kill();
    }
    const taken = new DimseDestination('scp', peer(scp.port, 'STORESCP', 'BRIDGE', pacs.port, 5000));
    try {
      await expect(taken.held(taken.idOf(key))).rejects.toMatchObject({
        code: 'DIMSE_COMMITMENT_PORT',
        message: `scp: the storage commitment port ${pacs.port} is in use; the peer's reports cannot be received`,
      });
    } finally {
      await taken.close();
    }
  });
});
