/** CPU seconds of the processes a benchmark runs (Linux /proc): where the time goes, per process. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestOrthanc } from '../test/helpers/orthanc';
import type { TestPostgres } from '../test/helpers/postgres';

const TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of a process, or 0 when it is gone. */
export function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** CPU seconds of an Orthanc (found by its configuration folder) and of PostgreSQL with its backends. */
export function cpuOfOrthanc(o: TestOrthanc): number {
  return pids()
    .filter((p) => cmdline(p).includes(o.dir))
    .reduce((n, p) => n + cpuOf(p), 0);
}

export function cpuOfPostgres(pg: TestPostgres): number {
  const postmaster = Number(readFileSync(path.join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return pids()
    .filter((p) => p === postmaster || parentOf(p) === postmaster)
    .reduce((n, p) => n + cpuOf(p), 0);
}
