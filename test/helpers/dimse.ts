/** dcmtk's storescp as a DICOM C-STORE peer for tests and benchmarks, on a free port of 127.0.0.1. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort, waitFor } from './orthanc';

/** Starts storescp (AE STORESCP) writing what it receives to `dir`; `refuse` rejects every association. Waits until it listens. */
export async function startStorescp(
  dir: string,
  refuse = false,
): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(
    'storescp',
    [...(refuse ? ['--refuse'] : []), '-aet', 'STORESCP', '-od', dir, String(port)],
    {
      stdio: 'ignore',
    },
  );
  await waitFor(
    `storescp on port ${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
  );
  return { port, proc };
}
