/**
 * Large transfer buffers, reused between instances instead of allocated for each one.
 *
 * Why: a pulled DICOM file is one buffer of up to hundreds of MB. Allocated fresh each time, glibc
 * serves it from a heap that a long run fragments and never gives back (peak RSS grew with the
 * length of the run: 195, 219, 244 MB at 1x, 4x, 16x the benchmark corpus), and every freed buffer
 * is external memory the garbage collector is pushed to chase. A buffer given back here is handed
 * to the next instance that fits in it.
 *
 * The rule that makes reuse safe: a lease is released only when nothing reads its bytes any more
 * (the instance's stages are over and its destination has stopped reading what was sent: see
 * `Destination.releasesParts`). A released buffer is overwritten with a fixed pattern at once, so
 * a reader that outlived its lease reads that pattern, which no check accepts as the file it
 * expected (the gate, the MD5 confirmation), never another instance's data unnoticed.
 */

/** Buffers smaller than this come from Node's own allocator (its small-buffer pool). */
export const MIN_POOLED_BYTES = 256 * 1024;

/** What a released buffer is filled with. */
export const RELEASED_FILL = 0xa5;

export interface Lease {
  /** The buffer: exactly the length asked for, a view of a pooled block. */
  readonly bytes: Buffer;
  /** Gives the block back (at most once; later calls do nothing). */
  release(): void;
}

/** The block size a new block is rounded up to (an eighth above it at most), so a slightly larger file fits it later. */
export function blockSize(n: number): number {
  if (n <= MIN_POOLED_BYTES) return n;
  const step = 2 ** Math.max(0, Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

export interface BufferPoolStats {
  /** Bytes of free blocks held for reuse. */
  readonly retained: number;
  readonly hits: number;
  readonly misses: number;
}

export class BufferPool {
  /** Free blocks, the least recently released first. */
  private readonly free: ArrayBuffer[] = [];
  private retainedBytes = 0;
  private hits = 0;
  private misses = 0;
  private readonly leased = new WeakSet<ArrayBuffer>();

  /** `maxRetainedBytes`: the most free blocks may hold together; the oldest are dropped past it. */
  constructor(readonly maxRetainedBytes: number) {}

  /**
   * A buffer of `n` bytes (contents undefined: the caller fills it), cut from the smallest free
   * block that holds it: a few blocks serve files of every size, so a mix of sizes (a CT slice, then
   * a mammogram) does not keep one set of blocks per size.
   */
  acquire(n: number): Lease {
    if (n < MIN_POOLED_BYTES || blockSize(n) > this.maxRetainedBytes)
      return { bytes: Buffer.allocUnsafe(n), release: () => undefined };
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i]!.byteLength;
      if (size >= n && (best < 0 || size < this.free[best]!.byteLength)) best = i;
    }
    let block: ArrayBuffer;
    if (best >= 0) {
      block = this.free.splice(best, 1)[0]!;
      this.retainedBytes -= block.byteLength;
      this.hits++;
    } else {
      block = new ArrayBuffer(blockSize(n));
      this.misses++;
    }
    this.leased.add(block);
    let released = false;
    return {
      bytes: Buffer.from(block, 0, n),
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(block, n);
      },
    };
  }

  /** Overwrites what the lease could hold (its first `used` bytes), then keeps the block or drops the oldest. */
  private giveBack(block: ArrayBuffer, used: number): void {
    if (!this.leased.has(block)) return;
    this.leased.delete(block);
    new Uint8Array(block, 0, used).fill(RELEASED_FILL);
    this.free.push(block);
    this.retainedBytes += block.byteLength;
    while (this.retainedBytes > this.maxRetainedBytes && this.free.length > 0)
      this.retainedBytes -= this.free.shift()!.byteLength;
  }

  get stats(): BufferPoolStats {
    return { retained: this.retainedBytes, hits: this.hits, misses: this.misses };
  }
}
