/**
 * The test harness's own Orthanc starter: ports are picked free just before Orthanc binds them,
 * so another process can take one in between. A CI run lost three tests to that (Orthanc exited
 * at once, and the wait for it ran its full 30 s): the starter now sees the exit and picks again.
 */
import net from 'node:net';
import { TestOrthanc } from '../helpers/orthanc';

/** A listener that accepts and never answers (the worst neighbour for a readiness probe). */
function occupy(): Promise<net.Server> {
  return new Promise((resolve) => {
    const srv = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}
const sockets: net.Socket[] = [];
const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;

/** Hands out `taken` as its first port, then free ones. */
class RacedOrthanc extends TestOrthanc {
  constructor(taken: number, overrides: Record<string, unknown> = {}) {
    super('research', overrides);
    const free = this.pickPort;
    let first = true;
    this.pickPort = () => {
      if (!first) return free();
      first = false;
      return Promise.resolve(taken);
    };
  }
}

describe('the test Orthanc starter', () => {
  let taken: net.Server;
  beforeAll(async () => {
    taken = await occupy();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => taken.close(() => r()));
  });

  it('picks new ports when another process took the one it picked, and starts', async () => {
    const orthanc = new RacedOrthanc(portOf(taken));
    try {
      await orthanc.start();
      expect(orthanc.port).not.toBe(portOf(taken));
      expect(await orthanc.get<{ Name: string }>('/system')).toHaveProperty('Name');
    } finally {
      await orthanc.destroy();
    }
  });

  it('fails at once, naming the cause, when a port the test fixed is taken', async () => {
    const orthanc = new TestOrthanc('research', { DicomServerEnabled: true, DicomPort: portOf(taken) });
    const began = Date.now();
    try {
      await expect(orthanc.start()).rejects.toThrow(/exited on start \(port in use\)/);
      // Well before the 30 s the wait allows a live process.
      expect(Date.now() - began).toBeLessThan(20_000);
    } finally {
      await orthanc.destroy();
    }
  });
});
