/**
 * Connections to Orthanc are reused between requests. Orthanc 1.10 answers
 * `Keep-Alive: timeout=1`, and Node's agent, keeping a one-second margin, kept no idle socket at
 * all: every request of the bridge opened a TCP connection of its own. Counted here through a
 * TCP relay in front of a real Orthanc.
 */
import axios from 'axios';
import net from 'node:net';
import { Readable } from 'node:stream';
import { httpAgent, retryStaleSockets } from '../../src/orthanc/agents';
import { OrthancClient } from '../../src/orthanc/client';
import { DicomWebDestination } from '../../src/destinations/dicomweb';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc, freePort, request } from '../helpers/orthanc';
import { instanceKeyOf } from '../helpers/samples';

/**
 * Relays 127.0.0.1:port to `target`, counting the connections it accepts. `cutSecond`: a
 * connection is cut (reset) when its second request arrives, as a server closing a kept
 * connection just as it is reused.
 */
async function countingRelay(
  target: number,
  cutSecond = false,
): Promise<{ port: number; connections: () => number; answered: () => string; close: () => Promise<void> }> {
  let connections = 0;
  let answered = '';
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => open.delete(s));
    }
    upstream.on('data', (c: Buffer) => (answered += c.toString('latin1')));
    let requests = 0;
    client.on('data', (c: Buffer) => {
      if (/^(GET|POST|PUT|DELETE) /.test(c.toString('latin1', 0, 8))) requests++;
      if (cutSecond && requests === 2) return void client.resetAndDestroy();
      upstream.write(c);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port,
    connections: () => connections,
    answered: () => answered,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The bridge's Orthanc client, reaching Orthanc through the relay. */
function clientThrough(relay: { port: number }): OrthancClient {
  return new OrthancClient({ url: `http://127.0.0.1:${relay.port}`, timeoutMs: 10_000, label: 'source' });
}

describe('connections to Orthanc', () => {
  let orthanc: TestOrthanc;
  let ids: string[] = [];
  beforeAll(async () => {
    orthanc = await new TestOrthanc('clinical', {
      Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
    }).start();
    const [patient] = samplePatients(1);
    const study = makeCtStudy(patient!, { studyIndex: 1, studyDate: '20240110', slices: 4, size: 64 });
    ids = [];
    for (const i of study) ids.push((await orthanc.upload(i.bytes)).ID);
  });
  afterAll(async () => {
    await orthanc?.destroy();
  });

  it('are announced by Orthanc 1.10 as kept for one second (the premise)', async () => {
    const r = await request('GET', `${orthanc.url}/system`);
    expect(r.headers['keep-alive']).toBe('timeout=1');
  });

  it('are reused by the JSON client and the bulk transfers, one after another', async () => {
    const relay = await countingRelay(orthanc.port);
    try {
      const client = clientThrough(relay);
      for (let round = 0; round < 5; round++) {
        await client.version();
        for (const id of ids) expect((await client.instanceFile(id)).length).toBeGreaterThan(0);
      }
      // 25 requests: one connection for the JSON client, one for the bulk transfers (before: 25).
      expect(relay.connections()).toBeLessThanOrEqual(2);
    } finally {
      await relay.close();
    }
  });

  it('asks Orthanc for uncompressed JSON answers (Orthanc gzips them unless told)', async () => {
    const relay = await countingRelay(orthanc.port);
    try {
      const client = clientThrough(relay);
      expect(await client.version()).toMatch(/^\d/);
      const study = await client.studyInstances((await orthanc.get<string[]>('/studies'))[0]!);
      expect(study).toHaveLength(ids.length);
      expect(relay.answered()).toMatch(/^HTTP\/1\.1 200/);
      expect(relay.answered()).not.toMatch(/content-encoding/i);
      // The premise: the same request without the header is answered gzipped.
      const r = await request('GET', `${orthanc.url}/system`, undefined, { 'Accept-Encoding': 'gzip' });
      expect(r.headers['content-encoding']).toBe('gzip');
    } finally {
      await relay.close();
    }
  });

  it('sends a request again when the server closed the kept connection as it was reused', async () => {
    const relay = await countingRelay(orthanc.port, true);
    try {
      const client = clientThrough(relay);
      // Each call after the first goes out on a kept connection, which is cut, and again on a new one.
      const first = await client.instanceFile(ids[0]!);
      expect((await client.instanceFile(ids[0]!)).equals(first)).toBe(true);
      expect(await client.version()).toMatch(/^\d/);
      expect(await client.version()).toMatch(/^\d/);
      expect(relay.connections()).toBeGreaterThanOrEqual(3);
    } finally {
      await relay.close();
    }
  });

  it('sends a DICOMweb STOW-RS again, from its buffers in a new stream, when the kept connection was cut', async () => {
    const relay = await countingRelay(orthanc.port, true);
    try {
      const d = new DicomWebDestination('web', {
        kind: 'dicomweb',
        url: `http://127.0.0.1:${relay.port}/dicom-web`,
        timeoutMs: 10_000,
        explorerUrl: '',
      });
      const [p] = samplePatients(1);
      const study = makeCtStudy(p!, { studyIndex: 7, studyDate: '20240111', slices: 3, size: 64 });
      // One after another: each store after the first goes out on the kept connection, which is cut.
      for (const inst of study) {
        const key = instanceKeyOf(inst.bytes);
        expect((await d.store([inst.bytes], key)).already).toBe(false);
        expect(await d.held(d.idOf(key))).toBeDefined();
      }
      expect(relay.connections()).toBeGreaterThanOrEqual(study.length);
    } finally {
      await relay.close();
    }
  });

  it('does not send a streamed body again (it was consumed): that request fails, named, as before', async () => {
    const relay = await countingRelay(orthanc.port, true);
    try {
      const ax = axios.create({
        baseURL: `http://127.0.0.1:${relay.port}`,
        httpAgent: httpAgent({ maxSockets: 1 }),
      });
      retryStaleSockets(ax);
      expect((await ax.get('/system')).status).toBe(200);
      const posted = ax.post('/tools/lookup', Readable.from([Buffer.from('1.2.3')]), {
        headers: { 'Content-Type': 'text/plain' },
      });
      await expect(posted).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
      expect(relay.connections()).toBe(1);
    } finally {
      await relay.close();
    }
  });
});
