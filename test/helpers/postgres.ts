/**
 * A real PostgreSQL 15 server for tests: Debian's binaries, a cluster in a temporary folder owned by
 * the `postgres` account, on a free port of 127.0.0.1, stopped and removed after. Each test gets an
 * empty database of its own (`freshDatabase`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, waitFor } from './orthanc';

const BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'bridge-test-password';

export function postgresAvailable(): boolean {
  return existsSync(path.join(BIN, 'initdb')) && existsSync(path.join(BIN, 'pg_ctl'));
}

/** Runs a PostgreSQL binary as the `postgres` account (initdb refuses root). */
function asPostgres(args: string[], opts: { allowFail?: boolean } = {}): string {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : args[0]!;
  const argv = asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${path.basename(args[0]!)} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export class TestPostgres {
  readonly dir: string;
  port = 0;
  private counter = 0;
  readonly password = PASSWORD;

  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-pg-'));
    chmodSync(this.dir, 0o777);
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** postgres://bridge@127.0.0.1:PORT/DB (the password goes separately, as the bridge wants it). */
  url(db = 'postgres'): string {
    return `postgres://bridge@127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<this> {
    const pwfile = path.join(this.dir, 'pw');
    writeFileSync(pwfile, PASSWORD);
    chmodSync(pwfile, 0o644);
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', this.dir]);
    asPostgres([
      path.join(BIN, 'initdb'),
      '-D',
      this.dataDir,
      '-U',
      'bridge',
      '--pwfile',
      pwfile,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
    // The port is picked free just before the server binds it; another process may take it in
    // between: the server then fails to start, and the port is picked again (at most 5 times).
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      const logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      try {
        await this.startServer();
        return this;
      } catch (e) {
        const said = existsSync(this.logFile) ? readFileSync(this.logFile).subarray(logStart).toString() : '';
        if (attempt >= 5 || !/already in use/.test(said)) throw e;
      }
    }
  }

  private get logFile(): string {
    return path.join(this.dir, 'log');
  }

  private async startServer(): Promise<void> {
    asPostgres([
      path.join(BIN, 'pg_ctl'),
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=200`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitFor('PostgreSQL to accept connections', async () => {
      const c = this.client();
      try {
        await c.connect();
        return true;
      } finally {
        await c.end().catch(() => undefined);
      }
    });
  }

  /** Stops the server (fast: open connections are cut, as in a crash of the clients' peer). */
  stopServer(): void {
    asPostgres([path.join(BIN, 'pg_ctl'), '-D', this.dataDir, '-m', 'fast', '-w', 'stop'], {
      allowFail: true,
    });
  }

  /** Restarts the server on the same port: every client connection is cut. */
  async restart(): Promise<void> {
    this.stopServer();
    await this.startServer();
  }

  /** A client of the server's maintenance database, for the harness. */
  client(db = 'postgres'): Client {
    return new Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'bridge',
      database: db,
      password: PASSWORD,
    });
  }

  /** An empty database of its own for one test. */
  async freshDatabase(): Promise<string> {
    const name = `t${process.pid}_${++this.counter}`;
    const c = this.client();
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return this.url(name);
  }

  stop(): void {
    this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
