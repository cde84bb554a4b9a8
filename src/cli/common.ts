import { Option, type Command } from 'commander';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { BridgeApp } from '../app';
import { loadConfig, type ResolvedConfig } from '../config';
import { UsageError } from '../errors';
import { isOrthancId } from '../orthanc/ids';
import type { StatusReport } from '../service/bridgeService';

/** What every command group shares: the program (for --config) and the exit code to end with. */
export interface Cli {
  readonly program: Command;
  exitCode: number;
}

export function config(cli: Cli): ResolvedConfig {
  // The one place the process environment is handed over; everything else gets the resolved config.
  // eslint-disable-next-line no-restricted-properties
  return loadConfig({ env: process.env, configPath: (cli.program.opts() as { config?: string }).config });
}

/** Runs `fn` with an app that does not serve or poll, and always closes it. */
export async function withApp(cli: Cli, fn: (app: BridgeApp) => Promise<void> | void): Promise<void> {
  const app = await BridgeApp.open(config(cli), { console: false });
  try {
    await fn(app);
  } finally {
    await app.stop();
  }
}

/** The first line of standard input; on a terminal, after a prompt on standard error (not echoed to stdout). */
export async function firstLineOfStdin(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

/** Refuses what is not an Orthanc ID, as the API does ("..", a path, an ID with a newline...). */
export function orthancIdArg(name: string, value: string): void {
  if (!isOrthancId(value))
    throw new UsageError(
      `${name}: not an Orthanc ID (five groups of 8 lower-case hex digits, as Orthanc Explorer shows)`,
    );
}

export function quarantineIdArg(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value))
    throw new UsageError(`quarantine entry: "${value.slice(0, 20)}" is not an entry number`);
  return Number(value);
}

/** Who ran an admin command, for the audit: the operating-system account. */
export function actor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export function printStatus(s: StatusReport): void {
  const j = s.jobs;
  console.log(
    `jobs: queued ${j.queued}, running ${j.running}, done ${j.done}, quarantined ${j.quarantined}, failed ${j.failed}, skipped ${j.skipped}`,
  );
  console.log(`quarantine: ${s.quarantinedInstances} instance(s)`);
  const f = s.feed;
  console.log(
    `change feed: cursor ${f.cursor}, clinical Orthanc last ${f.orthancLast ?? 'unknown'}, lag ${f.lag ?? 'unknown'}, resets ${f.resets}`,
  );
  console.log(`state: ${s.state.store} (${s.state.location})`);
  for (const d of s.destinations) console.log(`destination ${d.name}: ${d.kind}, confirms ${d.proves}`);
  for (const r of s.replicas)
    console.log(
      r.role === 'stopped'
        ? `replica ${r.id}: stopped (last seen ${r.lastSeen})`
        : `replica ${r.id}: ${r.role}, ${r.alive ? 'alive' : 'not seen within its lease'}, ${r.runningJobs} running job(s), last seen ${r.lastSeen}`,
    );
}

export const formatOption = (): Option =>
  new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json');
