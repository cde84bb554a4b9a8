/**
 * The security review's findings (issue 12), each reproduced against a real bridge API, a real
 * clinical Orthanc with the Explorer plugin and the real command line: cross-site requests, the
 * plugin's routes, credential guessing, refusal logging, admin audit, file permissions, IDs on the
 * command line, pagination and server timeouts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { listJobs } from '../../src/store/jobs';
import { listAdminAudit } from '../../src/store/reid';
import { recordPushed, recordQuarantined } from '../../src/store/instances';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { pairEnv } from '../helpers/carry';
import { TestOrthanc, freePort, request, waitFor } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN, bearer } from '../helpers/samples';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const basic = (user: string, token: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`,
});
let apiPort = 0;
let clinical: TestOrthanc;
const research = new TestOrthanc('research');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-security-'));
let app: BridgeApp;
let studyId = '';
let api = '';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return pairEnv(clinical, research, dataDir, {
    BRIDGE_API_PORT: String(apiPort),
    BRIDGE_API_TOKEN: OPERATOR_TOKEN,
    BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    ...extra,
  });
}

function cli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env(), ...opts.env },
    encoding: 'utf8',
    timeout: 60_000,
    input: opts.input ?? '',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  clinical = new TestOrthanc(
    'clinical',
    { ResearchBridge: { Url: api, ExplorerMetadataKey: 1025 } },
    { RESEARCH_BRIDGE_TOKEN: OPERATOR_TOKEN },
  );
  await Promise.all([clinical.start(), research.start()]);
  const [p] = samplePatients(1);
  for (const inst of makeCtStudy(p!, { studyIndex: 1, studyDate: '20240102', slices: 1 }))
    studyId = (await clinical.upload(inst.bytes)).ParentStudy;
  const cfgFile = path.join(dataDir, 'security.json');
  // Nothing is carried on its own: the tests look at what requests can make the bridge do.
  writeFileSync(
    cfgFile,
    JSON.stringify({
      routes: [{ name: 'never', match: { modalities: ['NONE'] } }],
      api: { failureDelayMs: 2000, failureDelayMaxMs: 60_000, headersTimeoutMs: 500, pageSize: 2 },
    }),
  );
  app = new BridgeApp(loadConfig({ env: env(), configPath: cfgFile }), { console: false });
  await app.start();
});

afterAll(async () => {
  await app?.stop();
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('cross-site requests (#2, #3)', () => {
  it('refuses a cross-site POST on the API even with the admin Basic credentials a browser caches', async () => {
    await recordQuarantined(app.db, {
      sourceId: 'aaaaaaaa-aaaaaaaa-aaaaaaaa-aaaaaaaa-aaaaaaaa',
      destination: 'research',
      studyId,
      jobId: 1,
      fingerprint: 'f',
      check: 'pixel-policy',
      tag: null,
      reason: 'pixel-policy: test entry',
    });
    const form = { 'Content-Type': 'application/x-www-form-urlencoded', ...basic('admin', ADMIN_TOKEN) };
    for (const route of ['/api/quarantine/1/release', `/api/studies/${studyId}/process`]) {
      const cross = await request('POST', `${api}${route}`, 'x=1', {
        ...form,
        Origin: 'https://attacker.example',
      });
      expect({ route, status: cross.status }).toEqual({ route, status: 403 });
      const fetchSite = await request('POST', `${api}${route}`, 'x=1', {
        ...form,
        'Sec-Fetch-Site': 'cross-site',
      });
      expect({ route, status: fetchSite.status }).toEqual({ route, status: 403 });
    }
    expect(await listJobs(app.db, { studyId })).toHaveLength(0);
    // The same request from the admin page's own origin, or from a command-line client, goes through.
    const own = await request('POST', `${api}/api/studies/${studyId}/process`, 'x=1', {
      ...form,
      Origin: api,
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(own.status).toBe(202);
    const curl = await request('POST', `${api}/api/quarantine/1/release`, undefined, bearer(ADMIN_TOKEN));
    expect(curl.status).toBe(202);
    // The release is audited (#5): who, from where, on what; the refused attempts changed nothing.
    const rows = (await listAdminAudit(app.db)).filter((r) => r.action === 'quarantine-release');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'api:admin@127.0.0.1', outcome: 'released' });
    expect(rows[0]!.target).toMatch(/^quarantine 1: instance aaaaaaaa-/);
  });

  it("refuses a cross-site form POST on the Explorer plugin's routes, and an ID with a trailing newline", async () => {
    const before = (await listJobs(app.db, { studyId })).length;
    const form = await request('POST', `${clinical.url}/research-bridge/studies/${studyId}/send`, 'x=1', {
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: 'https://attacker.example',
    });
    expect(form.status).toBe(403);
    const patients = await clinical.get<string[]>('/patients');
    const byPatient = await request(
      'POST',
      `${clinical.url}/research-bridge/patients/${patients[0]}/send`,
      'x=1',
      {
        'Content-Type': 'application/x-www-form-urlencoded',
      },
    );
    expect(byPatient.status).toBe(403);
    const otherOrigin = await request(
      'POST',
      `${clinical.url}/research-bridge/studies/${studyId}/send`,
      undefined,
      {
        'X-Requested-With': 'XMLHttpRequest',
        Origin: 'https://attacker.example',
      },
    );
    expect(otherOrigin.status).toBe(403);
    expect(await listJobs(app.db, { studyId })).toHaveLength(before);
    const newline = await request('GET', `${clinical.url}/research-bridge/studies/${studyId}%0A/state`);
    expect(newline.status).toBe(400);
    // Orthanc Explorer's own request (jQuery sets X-Requested-With) is served.
    const explorer = await request(
      'POST',
      `${clinical.url}/research-bridge/studies/${studyId}/send`,
      undefined,
      {
        'X-Requested-With': 'XMLHttpRequest',
      },
    );
    expect(explorer.status).toBe(200);
  });
});

describe('Orthanc Explorer 2: a custom button calling the plugin (issue 24)', () => {
  it('accepts the same-origin POST a browser sends from OE2 and still refuses cross-site and same-site ones', async () => {
    const url = `${clinical.url}/research-bridge/studies/${studyId}/send`;
    // What OE2 1.8's "CustomButtons" POST sends: axios, a JSON payload, no X-Requested-With; the
    // browser adds Origin and Sec-Fetch-Site, which a page cannot set.
    const oe2 = { 'Content-Type': 'application/json', Origin: clinical.url, 'Sec-Fetch-Site': 'same-origin' };
    const body = JSON.stringify({ id: studyId });
    expect((await request('POST', url, body, oe2)).status).toBe(200);
    // A browser that sends Sec-Fetch-Site but no Origin, and one that sends only Origin.
    expect((await request('POST', url, body, { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(200);
    expect((await request('POST', url, body, { Origin: clinical.url })).status).toBe(200);
    // The same shape from another site, or from a sibling site, is refused.
    for (const refused of [
      { ...oe2, 'Sec-Fetch-Site': 'cross-site', Origin: 'https://attacker.example' },
      { ...oe2, 'Sec-Fetch-Site': 'same-site' },
      { ...oe2, 'Sec-Fetch-Site': 'cross-site' },
      { 'Content-Type': 'application/json' },
    ])
      expect({ headers: refused, status: (await request('POST', url, body, refused)).status }).toEqual({
        headers: refused,
        status: 403,
      });
  });
});

describe("the Explorer plugin's answers when it cannot use the bridge (first run)", () => {
  it('tells a missing token, a token the bridge refuses and an unreachable bridge apart', async () => {
    const closed = await freePort();
    const cases: Array<{ label: string; env: Record<string, string>; url: string; want: RegExp }> = [
      { label: 'no token', env: {}, url: api, want: /has no token for the bridge/ },
      {
        label: 'wrong token',
        env: { RESEARCH_BRIDGE_TOKEN: 'not-the-token' },
        url: api,
        want: /refused this Orthanc's token/,
      },
      {
        label: 'nothing listening',
        env: { RESEARCH_BRIDGE_TOKEN: OPERATOR_TOKEN },
        url: `http://127.0.0.1:${closed}`,
        want: /cannot be reached/,
      },
    ];
    const servers = cases.map((c) => new TestOrthanc('clinical', { ResearchBridge: { Url: c.url } }, c.env));
    try {
      await Promise.all(servers.map((o) => o.start()));
      for (const [i, c] of cases.entries()) {
        const r = await request('GET', `${servers[i]!.url}/research-bridge/studies/${studyId}/state`);
        // 502, never 401: a 401 from Orthanc would make the browser ask the user for a password.
        expect({ label: c.label, status: r.status }).toEqual({ label: c.label, status: 502 });
        expect(r.body.toString()).toMatch(c.want);
        expect(r.body.toString()).not.toContain(OPERATOR_TOKEN);
      }
    } finally {
      await Promise.all(servers.map((o) => o.destroy()));
    }
  });
});

describe('pagination and timeouts (#15)', () => {
  it('pages /api/reports and /api/metadata, and refuses a limit that is not a number', async () => {
    for (let i = 0; i < 3; i++)
      await recordPushed(app.db, {
        sourceId: `page-${i}`,
        destination: 'research',
        studyId: 'page-study',
        jobId: 1,
        researchId: `r-${i}`,
        researchStudyId: 'rs',
        md5: 'm',
        fingerprint: 'f',
        pseudonym: 'RBPAGE',
        metadata: {},
      });
    const route = `${api}/api/metadata?study=page-study`;
    // pageSize is 2 in this test's config: the first page says where the next starts.
    const first = await request('GET', route, undefined, bearer(OPERATOR_TOKEN));
    expect(JSON.parse(first.body.toString())).toHaveLength(2);
    expect(first.headers['x-next-offset']).toBe('2');
    const second = await request('GET', `${route}&offset=2`, undefined, bearer(OPERATOR_TOKEN));
    expect(JSON.parse(second.body.toString())).toHaveLength(1);
    expect(second.headers['x-next-offset']).toBeUndefined();
    const bad = await request('GET', `${api}/api/reports?limit=x`, undefined, bearer(OPERATOR_TOKEN));
    expect(bad.status).toBe(400);
    const tooMany = await request('GET', `${api}/api/reports?limit=201`, undefined, bearer(OPERATOR_TOKEN));
    expect(tooMany.status).toBe(400);
  });

  it('closes a connection whose headers never end (slowloris), in the real daemon', async () => {
    // A child process: Jest's environment keeps Node's HTTP connection checks from firing.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-slow-'));
    const port = await freePort();
    writeFileSync(path.join(dir, 'slow.json'), JSON.stringify({ api: { headersTimeoutMs: 500 } }));
    const daemon = spawn(process.execPath, [CLI, 'run', '--config', path.join(dir, 'slow.json')], {
      env: { PATH: process.env.PATH ?? '', ...env({ BRIDGE_DATA_DIR: dir, BRIDGE_API_PORT: String(port) }) },
      stdio: 'ignore',
    });
    try {
      await waitFor(
        'the daemon',
        async () => (await request('GET', `http://127.0.0.1:${port}/healthz`)).status === 200,
      );
      const socket = net.connect(port, '127.0.0.1');
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      const answer = await new Promise<string>((resolve) => {
        let got = '';
        const timer = setTimeout(() => resolve('still open'), 10_000);
        socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(got.split('\r\n')[0] ?? '');
        });
        socket.on('error', () => undefined);
      });
      expect(answer).toBe('HTTP/1.1 408 Request Timeout');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
  });
});

describe('the command line (#12, #13)', () => {
  it('refuses a study ID that is not an Orthanc ID, and creates no job', async () => {
    const r = cli(['process', '..']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not an Orthanc ID/);
    expect(await listJobs(app.db, { studyId: '..' })).toHaveLength(0);
  });

  it('reads the PatientID for a pseudonym from standard input, never from the command line', () => {
    const refused = cli(['pseudonym', 'SYN-0042']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/standard input/);
    const ok = cli(['pseudonym'], { input: 'SYN-0042\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^RB[A-Z2-7]{20}$/);
  });

  it('writes the state database, logs and reports private to its user, and warns of a readable secret file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-modes-'));
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, 'a-secret-that-is-long-enough-for-tests', { mode: 0o644 });
    const r = cli(['run', '--once'], {
      env: { BRIDGE_DATA_DIR: path.join(dir, 'data'), BRIDGE_SECRET: '', BRIDGE_SECRET_FILE: secretFile },
    });
    expect(r.code).toBe(0);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        files.push(p);
        if (e.isDirectory()) walk(p);
      }
    };
    walk(path.join(dir, 'data'));
    expect(files.some((f) => f.endsWith('bridge.sqlite'))).toBe(true);
    for (const f of files) expect({ f, other: statSync(f).mode & 0o077 }).toEqual({ f, other: 0 });
    const log = readFileSync(path.join(dir, 'data', 'logs', 'bridge.log'), 'utf8');
    expect(log).toMatch(/BRIDGE_SECRET_FILE: .* can be read by other accounts/);
  });

  it('refuses the same token for operator and admin, and a URL with credentials in it', () => {
    const same = cli(['status'], { env: { BRIDGE_ADMIN_TOKEN: OPERATOR_TOKEN } });
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/BRIDGE_API_TOKEN and BRIDGE_ADMIN_TOKEN are the same/);
    const url = cli(['status'], { env: { BRIDGE_RESEARCH_URL: 'http://bridge:s3cret-pw@127.0.0.1:1' } });
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/BRIDGE_RESEARCH_URL: a URL may not hold a user name or password/);
    expect(url.stderr).not.toContain('s3cret-pw');
  });
});

describe('credential guessing (#4) and refusal logging (#5)', () => {
  // Its own bridge, so that the penalty it earns holds back no other test.
  it('answers 400 parallel guesses from one address with one comparison and 399 times 429, the right token too, and logs them as one line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-guess-'));
    const port = await freePort();
    writeFileSync(path.join(dir, 'guess.json'), JSON.stringify({ api: { failureDelayMs: 2000 } }));
    const guessed = new BridgeApp(
      loadConfig({
        env: env({ BRIDGE_DATA_DIR: dir, BRIDGE_API_PORT: String(port) }),
        configPath: path.join(dir, 'guess.json'),
      }),
      { console: false },
    );
    await guessed.start();
    try {
      const url = `http://127.0.0.1:${port}/api/status`;
      const statuses = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          request('GET', url, undefined, bearer(`guess-${String(i).padStart(20, '0')}`)).then(
            (r) => r.status,
          ),
        ),
      );
      expect(statuses.filter((s) => s === 401)).toHaveLength(1);
      expect(statuses.filter((s) => s === 429)).toHaveLength(399);
      expect((await request('GET', url, undefined, bearer(OPERATOR_TOKEN))).status).toBe(429);
    } finally {
      await guessed.stop();
    }
    const log = readFileSync(path.join(dir, 'logs', 'bridge.log'), 'utf8');
    expect(log.split('\n').filter((l) => l.includes('API access refused'))).toHaveLength(1);
    expect(log).not.toContain('guess-');
  });
});
