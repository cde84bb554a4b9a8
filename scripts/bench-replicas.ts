/**
 * `npm run bench -- --replicas N`: the same corpus carried by 1, 2 ... N bridge replicas sharing a
 * PostgreSQL 15 (started here, as the tests start it), each run on an empty state database and an
 * empty research server. Prints the time and instances/s side by side, and the CPU seconds each
 * process spent (the replicas, each Orthanc, PostgreSQL), which shows where the bottleneck is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { OrthancClient } from '../src/orthanc/client';
import { addressParts } from '../src/store/postgres';
import { waitFor, type TestOrthanc } from '../test/helpers/orthanc';
import { TestPostgres } from '../test/helpers/postgres';
import { cpuOf, cpuOfOrthanc, cpuOfPostgres } from './bench-cpu';

export interface ReplicaBenchInput {
  readonly replicas: number;
  readonly clinical: TestOrthanc;
  readonly research: TestOrthanc;
  readonly target: OrthancClient;
  readonly instances: number;
  readonly bytes: number;
  readonly concurrency: number;
  readonly secret: string;
  readonly cli: string;
  /** How the `bridge` command starts node (bench.ts BRIDGE_NODE_FLAGS). */
  readonly nodeFlags: readonly string[];
  /** The environment it starts node with (bench.ts BRIDGE_NODE_ENV). */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly cleanResearch: () => Promise<void>;
  readonly log: (s: string) => void;
}

export async function replicaBench(i: ReplicaBenchInput): Promise<void> {
  const pg = await new TestPostgres().start();
  const rows: string[] = [];
  try {
    for (let n = 1; n <= i.replicas; n++) {
      await i.cleanResearch();
      const url = await pg.freshDatabase();
      const state = new Client({ ...addressParts(url), password: pg.password });
      await state.connect();
      const before = {
        clinical: cpuOfOrthanc(i.clinical),
        research: cpuOfOrthanc(i.research),
        pg: cpuOfPostgres(pg),
      };
      const t0 = process.hrtime.bigint();
      const children: ChildProcess[] = [];
      for (let k = 1; k <= n; k++)
        children.push(
          spawn(process.execPath, [...i.nodeFlags, i.cli, 'run'], {
            env: {
              ...i.nodeEnv,
              PATH: process.env.PATH,
              BRIDGE_SOURCE_URL: i.clinical.url,
              BRIDGE_RESEARCH_URL: i.research.url,
              BRIDGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), `bench-replica-${k}-`)),
              BRIDGE_SECRET: i.secret,
              BRIDGE_STATE_URL: url,
              BRIDGE_STATE_PASSWORD: pg.password,
              BRIDGE_REPLICA_ID: `bench-${k}`,
              BRIDGE_CONCURRENCY: String(i.concurrency),
              BRIDGE_POLL_INTERVAL_MS: '100',
              BRIDGE_API_PORT: '0',
              BRIDGE_LOG_LEVEL: 'warn',
            },
            stdio: 'ignore',
          }),
        );
      try {
        await waitFor(
          `${n} replica(s) to carry the corpus`,
          async () => {
            const r = await state.query<{ open: string; done: string }>(
              `SELECT COUNT(*) FILTER (WHERE state IN ('queued', 'running')) AS open,
                      COUNT(*) FILTER (WHERE state = 'done') AS done FROM jobs`,
            );
            if (Number(r.rows[0]!.open) > 0 || Number(r.rows[0]!.done) === 0) return false;
            return (await i.target.getJson<string[]>('/instances')).length === i.instances;
          },
          1_800_000,
          50,
        );
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const bridgeCpu = children.map((c) => cpuOf(c.pid!));
        const owners = await state.query<{ owner: string; n: string }>(
          `SELECT owner, COUNT(*) AS n FROM jobs WHERE state = 'done' GROUP BY owner ORDER BY owner`,
        );
        rows.push(
          `  ${String(n).padStart(2)} replica(s) ${seconds.toFixed(2).padStart(8)} s ${(i.instances / seconds).toFixed(1).padStart(7)} inst/s ${(i.bytes / 1e6 / seconds).toFixed(1).padStart(7)} MB/s` +
            `   CPU s: bridges ${bridgeCpu.map((c) => c.toFixed(1)).join('+')}, clinical ${(cpuOfOrthanc(i.clinical) - before.clinical).toFixed(1)}, ` +
            `research ${(cpuOfOrthanc(i.research) - before.research).toFixed(1)}, PostgreSQL ${(cpuOfPostgres(pg) - before.pg).toFixed(1)}` +
            `   studies per replica: ${owners.rows.map((o) => `${o.owner}=${o.n}`).join(' ')}`,
        );
      } finally {
        await state.end();
        for (const c of children) c.kill('SIGTERM');
        await Promise.all(
          children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
        );
      }
    }
  } finally {
    pg.stop();
  }
  i.log(
    `replicas: the corpus (${i.instances} instances, ${(i.bytes / 1e6).toFixed(1)} MB) carried by N daemons sharing PostgreSQL, ${os.cpus().length} cores in all:`,
  );
  for (const r of rows) i.log(r);
}
