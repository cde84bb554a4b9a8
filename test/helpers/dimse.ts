/** dcmtk's storescp as a DICOM C-STORE peer for tests and benchmarks, on a free port of 127.0.0.1. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { GaveUp, freePort, waitFor } from './orthanc';

/**
 * Starts storescp (AE STORESCP) writing what it receives to `dir`; `refuse` rejects every
 * association. Waits until it listens. `associations()` counts the associations it accepted (the readiness probe, a bare TCP connection, is none).
 */
export async function startStorescp(
  dir: string,
  refuse = false,
): Promise<{ port: number; proc: ChildProcess; associations: () => number }> {
  // The port is picked free just before storescp binds it; another process may take it in
  // between, and storescp then exits: it is picked again (at most 5 times).
  for (let attempt = 1; ; attempt++) {
    const started = await startStorescpOnce(dir, refuse);
    if (started) return started;
    if (attempt >= 5) throw new Error('storescp exited on start 5 times (its port taken each time?)');
  }
}

async function startStorescpOnce(
  dir: string,
  refuse: boolean,
): Promise<{ port: number; proc: ChildProcess; associations: () => number } | undefined> {
  const port = await freePort();
  const proc = spawn(
    'storescp',
    [...(refuse ? ['--refuse'] : []), '-v', '-aet', 'STORESCP', '-od', dir, String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let count = 0;
  let tail = '';
  for (const stream of [proc.stdout, proc.stderr])
    stream?.on('data', (c: Buffer) => {
      // Counted as it comes (the log is not kept); a line cut between two chunks is joined.
      const text = tail + c.toString('latin1');
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      count += lines.filter((l) => l.includes('Association Acknowledged')).length;
    });
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  try {
    await waitFor(
      `storescp on port ${port}`,
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (exited()) return reject(new GaveUp('storescp exited'));
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.destroy();
            // Someone listens; it is storescp only if storescp is still running.
            if (exited()) reject(new GaveUp('storescp exited'));
            else resolve(true);
          });
          socket.on('error', () => resolve(false));
        }),
    );
  } catch (e) {
    if (e instanceof GaveUp) return undefined;
    throw e;
  }
  return { port, proc, associations: () => count };
}

/** A `dimse` destination's config entry for a peer on 127.0.0.1, calling as BRIDGE. */
export function dimseEntry(port: number, calledAet: string, confirm?: 'c-find'): Record<string, unknown> {
  return {
    kind: 'dimse',
    host: '127.0.0.1',
    port,
    calledAet,
    callingAet: 'BRIDGE',
    ...(confirm ? { confirm } : {}),
  };
}
