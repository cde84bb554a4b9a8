import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { listQuarantine } from '../../src/store/instances';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc } from '../helpers/orthanc';
import { TEST_SECRET } from '../helpers/samples';

/** A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl). */
function makeCertificates(dir: string): { ca: string; serverPem: string } {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=bridge test CA',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  const serverPem = path.join(dir, 'server.pem'); // Orthanc wants certificate and key in one file
  writeFileSync(
    serverPem,
    readFileSync(path.join(dir, 'server.crt'), 'utf8') + readFileSync(path.join(dir, 'server.key'), 'utf8'),
  );
  return { ca: path.join(dir, 'ca.pem'), serverPem };
}

const certDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-tls-'));
const certs = makeCertificates(certDir);
const clinical = new TestOrthanc('clinical', { Plugins: [] });
const research = new TestOrthanc('research');
// Debian's Orthanc 1.10.1 crashes on its own TLS connections (its CivetWeb with OpenSSL 3), so
// HTTPS is terminated in front of it, as a reverse proxy would do in production.
let proxy: tls.Server;
let researchHttps = '';

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
  const pem = readFileSync(certs.serverPem, 'utf8');
  proxy = tls.createServer({ cert: pem, key: pem }, (client) => {
    const upstream = net.connect(research.port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  researchHttps = `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  let study = '';
  for (const i of makeCtStudy(samplePatients(1)[0]!, { studyIndex: 1, studyDate: '20240707', slices: 2 }))
    study = (await clinical.upload(i.bytes)).ParentStudy;
  await clinical.waitStable([study]);
});
afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await Promise.all([clinical.destroy(), research.destroy()]);
});

function app(dataDir: string, extra: Record<string, string>): BridgeApp {
  const fast = path.join(dataDir, 'fast.json');
  writeFileSync(fast, JSON.stringify({ pipeline: { maxAttempts: 1 } }));
  return new BridgeApp(
    loadConfig({
      env: {
        BRIDGE_SOURCE_URL: clinical.url,
        BRIDGE_RESEARCH_URL: researchHttps,
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: TEST_SECRET,
        ...extra,
      },
      configPath: fast,
    }),
    { console: false },
  );
}

describe('HTTPS to Orthanc', () => {
  it('refuses a research Orthanc whose certificate it cannot verify', async () => {
    const a = app(mkdtempSync(path.join(os.tmpdir(), 'bridge-tls-data-')), {});
    try {
      const summary = await a.runOnce();
      expect(summary.instances.pushed).toBe(0);
      const q = await listQuarantine(a.db);
      expect(q.length).toBe(2);
      expect(q[0]!.reason).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    } finally {
      await a.stop();
    }
  });

  it('pushes over HTTPS when given the CA file', async () => {
    const a = app(mkdtempSync(path.join(os.tmpdir(), 'bridge-tls-data-')), {
      BRIDGE_RESEARCH_CA_FILE: certs.ca,
    });
    try {
      expect(await a.runOnce()).toMatchObject({ ok: true, studies: { done: 1 }, instances: { pushed: 2 } });
    } finally {
      await a.stop();
    }
    expect((await research.get<string[]>('/instances')).length).toBe(2);
  });

  it('names the CA file variable when the file holds no certificate', () => {
    const bad = path.join(certDir, 'not-a-cert.pem');
    writeFileSync(bad, 'hello');
    expect(() => loadConfig({ env: { BRIDGE_SECRET: TEST_SECRET, BRIDGE_RESEARCH_CA_FILE: bad } })).toThrow(
      /BRIDGE_RESEARCH_CA_FILE: .* holds no PEM certificate/,
    );
  });
});
