import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ORTHANC = '/usr/sbin/Orthanc';
const ROOT = path.resolve(__dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Thrown by a `waitFor` check when waiting longer cannot help (the awaited process has exited). */
export class GaveUp extends Error {}

/**
 * Polls `check` until it returns a value, or throws after `timeoutMs`. Waits on state, not on
 * time. A check that throws is tried again, unless it throws `GaveUp`, which ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch((e: unknown) => {
      if (e instanceof GaveUp) throw e;
      return undefined;
    });
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function request(
  method: string,
  url: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
  /** Gives up (an error) when no full answer came in this time; none by default. */
  timeoutMs?: number,
): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const all = { ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) };
    // Test servers only: a test's own self-signed HTTPS Orthanc is reached without checking its CA
    // here; the bridge itself is tested with its CA file.
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method, headers: all, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
      );
    });
    req.on('error', reject);
    if (timeoutMs !== undefined)
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.end(body);
  });
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const r = await request('GET', url, undefined, headers);
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
  return JSON.parse(r.body.toString('utf8')) as T;
}

let started = 0;

/** A real Orthanc process on free ports with its own temporary storage. */
export class TestOrthanc {
  private proc: ChildProcess | null = null;
  port = 0;
  /** How a port is picked (a test of this helper hands out a taken one). */
  protected pickPort: () => Promise<number> = freePort;
  /** The DICOM port in the config (picked free unless the test fixes one). */
  dicomPort = 0;
  readonly dir: string;

  constructor(
    readonly name: 'clinical' | 'research',
    private readonly overrides: Record<string, unknown> = {},
    /** Extra environment for the Orthanc process (the Explorer plugin reads its token there). */
    private readonly env: Record<string, string> = {},
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `bridge-orthanc-${name}-`));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Basic auth for the first registered user, when the config enables authentication. */
  get headers(): Record<string, string> {
    const users = this.overrides.RegisteredUsers as Record<string, string> | undefined;
    const first = users ? Object.entries(users)[0] : undefined;
    return first
      ? { Authorization: `Basic ${Buffer.from(`${first[0]}:${first[1]}`).toString('base64')}` }
      : {};
  }

  get<T>(route: string): Promise<T> {
    return getJson<T>(`${this.url}${route}`, this.headers);
  }

  call(method: string, route: string, body?: Buffer | string): Promise<{ status: number; body: Buffer }> {
    return request(method, `${this.url}${route}`, body, this.headers);
  }

  /**
   * Starts Orthanc and waits until its REST API answers. Ports are picked free just before, so
   * another process can take one in between (a parallel test file, an outgoing connection): Orthanc
   * then exits at once ("already in use"), and the ports this helper picked are picked again
   * (at most 5 times). A port fixed by the test (or kept by a restart) is not changed.
   */
  async start(): Promise<this> {
    const pickHttp = this.port === 0;
    const fixedDicom = this.overrides.DicomPort;
    const pickDicom = fixedDicom === undefined && this.dicomPort === 0;
    if (fixedDicom !== undefined) this.dicomPort = Number(fixedDicom);
    for (let attempt = 1; ; attempt++) {
      if (pickHttp) this.port = await this.pickPort();
      if (pickDicom) this.dicomPort = await this.pickPort();
      const outcome = await this.startOnce();
      if (outcome === 'started') return this;
      const retry = outcome === 'port in use' && (pickHttp || pickDicom) && attempt < 5;
      if (!retry)
        throw new Error(`${this.name} Orthanc exited on start (${outcome}): see ${this.dir}/orthanc.log`);
    }
  }

  private async startOnce(): Promise<'started' | 'port in use' | 'another error'> {
    const storage = path.join(this.dir, 'storage');
    mkdirSync(storage, { recursive: true });
    const template = JSON.parse(
      readFileSync(path.join(ROOT, 'orthanc', `${this.name}.json`), 'utf8'),
    ) as Record<string, unknown>;
    if (typeof template.PythonScript === 'string')
      template.PythonScript = path.resolve(ROOT, template.PythonScript);
    // A name of its own, so that the readiness probe knows an answer is this process's, not that
    // of another server which took the port first.
    const name = `${String(template.Name ?? this.name)}-${process.pid}-${++started}`;
    const config = {
      ...template,
      Name: name,
      HttpPort: this.port,
      DicomServerEnabled: false,
      StorageDirectory: storage,
      IndexDirectory: storage,
      StableAge: 1,
      // The shipped configs require authentication; tests on loopback run without it unless they
      // register users themselves (the tests of credentials do).
      AuthenticationEnabled: false,
      ...this.overrides,
      DicomPort: this.dicomPort,
    };
    const configFile = path.join(this.dir, 'orthanc.json');
    writeFileSync(configFile, JSON.stringify(config));
    const logFile = path.join(this.dir, 'orthanc.log');
    const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
    const log = openSync(logFile, 'a');
    this.proc = spawn(ORTHANC, [configFile], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...this.env },
    });
    closeSync(log);
    const proc = this.proc;
    try {
      await waitFor(`${this.name} Orthanc on port ${this.port}`, async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new GaveUp('exited');
        const r = await request('GET', `${this.url}/system`, undefined, this.headers, 2000);
        return r.status === 200 && (JSON.parse(r.body.toString('utf8')) as { Name?: string }).Name === name;
      });
      return 'started';
    } catch (e) {
      if (!(e instanceof GaveUp)) throw e;
      this.proc = null;
      const said = readFileSync(logFile).subarray(logStart).toString('utf8');
      return /already in use/.test(said) ? 'port in use' : 'another error';
    }
  }

  /** Kills the process at once (SIGKILL): no graceful shutdown, as in a power cut. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops, forgets every study (a reset index) and starts again on the same port. */
  async resetAndRestart(): Promise<void> {
    await this.stop();
    rmSync(path.join(this.dir, 'storage'), { recursive: true, force: true });
    await this.start();
  }

  async upload(bytes: Buffer): Promise<{ ID: string; ParentStudy: string }> {
    const r = await this.call('POST', '/instances', bytes);
    if (r.status !== 200) throw new Error(`upload answered ${r.status}`);
    return JSON.parse(r.body.toString('utf8')) as { ID: string; ParentStudy: string };
  }

  async waitStable(studyIds: readonly string[]): Promise<void> {
    for (const id of studyIds) {
      await waitFor(
        `study ${id} to become stable`,
        async () => (await getJson<{ IsStable: boolean }>(`${this.url}/studies/${id}`)).IsStable,
      );
    }
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
