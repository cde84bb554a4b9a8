import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { BufferPool, MIN_POOLED_BYTES, RELEASED_FILL, blockSize } from '../../src/util/bufferPool';
import { OrthancClient } from '../../src/orthanc/client';

const MB = 1024 * 1024;

describe('buffer pool', () => {
  it('hands a released block to the next request it fits, at exactly the length asked', () => {
    const pool = new BufferPool(64 * MB);
    const a = pool.acquire(3 * MB);
    expect(a.bytes.length).toBe(3 * MB);
    const block = a.bytes.buffer;
    a.release();
    const b = pool.acquire(3 * MB - 1000);
    expect(b.bytes.length).toBe(3 * MB - 1000);
    expect(b.bytes.buffer).toBe(block);
    expect(pool.stats).toMatchObject({ hits: 1, misses: 1, retained: 0 });
  });

  it('fills a released block at once, so a late reader never sees the file it held', () => {
    const pool = new BufferPool(64 * MB);
    const a = pool.acquire(2 * MB);
    a.bytes.fill(7);
    const view = a.bytes;
    a.release();
    expect(view.every((v) => v === RELEASED_FILL)).toBe(true);
    // A smaller file in the same block: what it leaves is filled again, whatever the block held.
    const b = pool.acquire(MB);
    expect(b.bytes.buffer).toBe(a.bytes.buffer);
    b.bytes.fill(9);
    b.release();
    expect(view.every((v) => v === RELEASED_FILL)).toBe(true);
  });

  it('serves a request from the smallest free block that holds it, never from one too small', () => {
    const pool = new BufferPool(64 * MB);
    const big = pool.acquire(16 * MB);
    const mid = pool.acquire(4 * MB);
    big.release();
    mid.release();
    const small = pool.acquire(MB);
    expect(small.bytes.buffer).toBe(mid.bytes.buffer);
    const larger = pool.acquire(8 * MB);
    expect(larger.bytes.buffer).toBe(big.bytes.buffer);
    const none = pool.acquire(20 * MB);
    expect([mid.bytes.buffer, big.bytes.buffer]).not.toContain(none.bytes.buffer);
    expect(none.bytes.buffer.byteLength).toBe(blockSize(20 * MB));
    expect(pool.stats).toMatchObject({ hits: 2, misses: 3 });
  });

  it('keeps at most its retention, dropping the oldest free blocks first', () => {
    const pool = new BufferPool(10 * MB);
    const leases = [1, 2, 3, 4, 5].map(() => pool.acquire(3 * MB));
    for (const l of leases) l.release();
    expect(pool.stats.retained).toBeLessThanOrEqual(10 * MB);
    expect(pool.stats.retained).toBe(3 * blockSize(3 * MB));
    // The newest three are kept: the last released comes back first to a request that fits.
    const again = pool.acquire(3 * MB);
    expect([leases[2], leases[3], leases[4]].map((l) => l!.bytes.buffer)).toContain(again.bytes.buffer);
  });

  it('gives a block back once however often it is released, and never pools small or oversized files', () => {
    const pool = new BufferPool(8 * MB);
    const a = pool.acquire(MB);
    a.release();
    a.release();
    expect(pool.stats.retained).toBe(blockSize(MB));
    const b = pool.acquire(MB);
    const c = pool.acquire(MB);
    expect(b.bytes.buffer).not.toBe(c.bytes.buffer);
    const tiny = pool.acquire(MIN_POOLED_BYTES - 1);
    const huge = pool.acquire(9 * MB);
    tiny.release();
    huge.release();
    expect(pool.stats.retained).toBe(0);
  });
});

describe('a pushed body is released only when nothing reads it any more', () => {
  it('answers a store refused before its body was read only after the whole body left the process', async () => {
    // A server (raw TCP, so nothing decides for it) that refuses at once, then reads the body at
    // its own pace: a sender that settled at the answer, its buffers then reused, would send
    // reused bytes in the body's tail.
    const total = 32 * MB;
    const chunks: Buffer[] = [];
    let length = 0;
    let bodyAt = -1; // where the body starts, once the request's head is in
    let ended!: () => void;
    const bodyEnded = new Promise<void>((r) => (ended = r));
    const server = net.createServer((socket) => {
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        length += c.length;
        if (bodyAt < 0) {
          const head = Buffer.concat(chunks).indexOf('\r\n\r\n');
          if (head < 0) return;
          bodyAt = head + 4;
          const reply = '{"Message":"refused"}';
          socket.write(
            `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${reply.length}\r\n\r\n${reply}`,
          );
        }
        if (length - bodyAt >= total) {
          ended();
          socket.end();
        }
      });
      socket.on('close', ended);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new OrthancClient({ url, timeoutMs: 10_000, label: 'research' });
      const parts = [Buffer.alloc(16 * MB, 1), Buffer.alloc(16 * MB, 2)];
      const err = await client.storeInstance(parts).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ORTHANC_HTTP_400' });
      for (const p of parts) p.fill(RELEASED_FILL); // what a pool does to a released block
      await bodyEnded;
      const body = Buffer.concat(chunks).subarray(bodyAt);
      expect(body.length).toBe(total);
      expect(body.subarray(0, 16 * MB).every((v) => v === 1)).toBe(true);
      expect(body.subarray(16 * MB).every((v) => v === 2)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
