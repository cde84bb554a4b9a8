/**
 * Where a destination writes the files it hands to another program (storescu reads files, not a
 * stream): a folder of the bridge's data folder, `spool/`, private to the bridge's user. Each send
 * makes a folder of its own there, named by the process, and removes it when the send ends; a
 * process killed mid-send (a crash, a SIGKILL) leaves its folder, and the next start removes the
 * folders of processes no longer running. Before, these folders were made in the system's
 * temporary folder and a killed bridge left its de-identified copies there.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';

export const SPOOL_FOLDER = 'spool';

/** Whether a process of that id runs on this machine (signal 0 tests, and sends nothing; EPERM: it runs, under another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The spool folder of a data folder, made (mode 0700) when missing, with the folders that processes
 * no longer running left in it removed. Returns its path.
 */
export function openSpool(dataDir: string): string {
  const spool = path.join(dataDir, SPOOL_FOLDER);
  try {
    mkdirSync(spool, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ConfigError(
      `the data folder's ${SPOOL_FOLDER} folder (${spool}), where a DIMSE destination writes the files storescu sends, cannot be made: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  for (const name of readdirSync(spool)) {
    const pid = Number(/^[a-z]+-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isRunning(pid))
      rmSync(path.join(spool, name), { recursive: true, force: true });
  }
  return spool;
}

/** A new folder for one send, in `spool`, named by its use and this process. */
export function spoolFolder(spool: string, use: string): string {
  return mkdtempSync(path.join(spool, `${use}-${process.pid}-`));
}
