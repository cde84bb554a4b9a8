import net from 'node:net';

/**
 * A TCP proxy in front of a real server that can misbehave on demand: when a DICOM file download
 * goes through it (`GET .../file`), cut the connection after `cutAfterBytes` of the answer, or
 * stall it (relay nothing more, keep it open). `faults` downloads misbehave, then it behaves.
 */
export class FaultyProxy {
  private server = net.createServer((client) => this.relay(client));
  private sockets = new Set<net.Socket>();
  /** Connections still to misbehave; each one decrements it. */
  faults = 0;
  mode: 'cut' | 'stall' = 'cut';
  cutAfterBytes = 4096;
  misbehaved = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let faulty = false;
    let relayed = 0;
    client.on('data', (chunk: Buffer) => {
      if (!faulty && this.faults > 0 && /GET \/instances\/[^ ]+\/file /.test(chunk.toString('latin1'))) {
        faulty = true;
        this.faults--;
        relayed = 0;
      }
    });
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (faulty && relayed + chunk.length > this.cutAfterBytes) {
        client.write(chunk.subarray(0, Math.max(0, this.cutAfterBytes - relayed)));
        relayed = this.cutAfterBytes;
        this.misbehaved++;
        upstream.pause();
        if (this.mode === 'cut') {
          client.destroy();
          upstream.destroy();
        }
        return; // stall: nothing more is relayed
      }
      relayed += chunk.length;
      client.write(chunk);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('end', () => client.end());
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
