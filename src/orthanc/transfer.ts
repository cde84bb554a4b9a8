/**
 * Bulk DICOM bodies over node:http/node:https with keep-alive agents: a pulled file is read into
 * one buffer of the announced size, a pushed file is written from its parts; no stream wrappers,
 * no per-chunk work beyond the copy. axios stays for Orthanc's small JSON calls (client.ts).
 * Errors follow the one error model (errors.ts) and name the route and status, never a body.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { DestinationError, PermanentError, TransientError, type BridgeError } from '../errors';
import { STALE_SOCKET_RETRIES, agentFor, staleSocket } from './agents';

/** How to reach one Orthanc server (the JSON client takes the same). */
export interface TransferOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Inactivity timeout of a request. */
  readonly timeoutMs: number;
  /** Extra trusted CA certificates (PEM), added to the system's. */
  readonly ca?: string;
  /** Shown in errors and logs: "source", "research" or a destination's name. */
  readonly label: string;
}

/** Network faults another try may get past (the same set as the JSON client's). */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** The error for an HTTP status of Orthanc's, by what another try could change. */
export function statusError(status: number, where: string, label: string): BridgeError {
  if (status >= 500 || status === 429 || status === 408)
    return new TransientError(`ORTHANC_HTTP_${status}`, `${where} answered ${status}`);
  if (status === 401 || status === 403)
    return new DestinationError(
      `ORTHANC_HTTP_${status}`,
      `${where} answered ${status}: check the ${label} credentials`,
    );
  return new PermanentError(`ORTHANC_HTTP_${status}`, `${where} answered ${status}`);
}

/** A network error (connection refused, reset, timeout, certificate) as a BridgeError. */
export function networkError(err: unknown, where: string): BridgeError {
  const code = String((err as { code?: unknown } | null)?.code ?? 'ERR_NETWORK');
  if (TRANSIENT_CODES.has(code) || code === 'ERR_NETWORK')
    return new TransientError(`ORTHANC_${code}`, `${where} failed: ${code}`);
  return new PermanentError(`ORTHANC_${code}`, `${where} failed: ${code}`);
}

export class BulkTransfer {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly secure: boolean;
  private readonly auth: string | undefined;

  constructor(private readonly o: TransferOptions) {
    this.base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    this.secure = this.base.protocol === 'https:';
    this.agent = agentFor(this.base, { maxSockets: 16, ca: o.ca });
    this.auth = o.username
      ? `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`, 'utf8').toString('base64')}`
      : undefined;
  }

  /**
   * Sends a request and waits for the response head. The socket timeout applies to inactivity, so
   * a large file that keeps moving is never cut, and a stalled one always is. `written` settles
   * when the body's bytes are no longer read: all handed to the system, or the request ended; a
   * failed request is answered only then (a body's buffers may be reused once its sender settles).
   */
  private async send(
    method: string,
    route: string,
    headers: Record<string, string>,
    body: readonly Buffer[] | undefined,
  ): Promise<{ res: IncomingMessage; where: string; written: Promise<void> }> {
    const where = `${this.o.label} Orthanc ${method} ${route}`;
    for (let retries = 0; ; retries++) {
      const r = await this.sendOnce(method, route, headers, body);
      if ('res' in r) return { ...r, where };
      // A kept connection the server had closed: sent again on another (agents.ts).
      if (!r.stale || retries >= STALE_SOCKET_RETRIES) throw networkError(r.err, where);
    }
  }

  private sendOnce(
    method: string,
    route: string,
    headers: Record<string, string>,
    body: readonly Buffer[] | undefined,
  ): Promise<{ res: IncomingMessage; written: Promise<void> } | { err: unknown; stale: boolean }> {
    const url = new URL(route.replace(/^\//, ''), this.base);
    const mod = this.secure ? https : http;
    return new Promise((resolve) => {
      const req = mod.request(
        url,
        {
          method,
          agent: this.agent,
          headers: { ...headers, ...(this.auth ? { Authorization: this.auth } : {}) },
        },
        (res) => resolve({ res, written }),
      );
      const written = new Promise<void>((done) => {
        req.once('finish', done);
        req.once('close', done);
      });
      req.setTimeout(this.o.timeoutMs, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (err) => void written.then(() => resolve({ err, stale: staleSocket(err, req) })));
      if (body) for (const part of body) req.write(part);
      req.end();
    });
  }

  /** Reads a response body that must not be a DICOM value (an error answer): discarded. */
  private static drain(res: IncomingMessage): void {
    res.resume();
  }

  /**
   * A file, in one buffer of the announced size: no chunk list and no second copy, so a 200 MB
   * instance costs 200 MB. A body shorter or longer than announced is a transient fault.
   */
  async get(
    route: string,
    maxBytes = Number.MAX_SAFE_INTEGER,
    alloc: (n: number) => Buffer = Buffer.allocUnsafe,
  ): Promise<Buffer> {
    // identity: DICOM barely compresses, and gzip would cost Orthanc CPU and hide the real length.
    const { res, where } = await this.send('GET', route, { 'Accept-Encoding': 'identity' }, undefined);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      BulkTransfer.drain(res);
      throw statusError(status, where, this.o.label);
    }
    const announced = Number(res.headers['content-length']);
    // Never allocate or collect more than the caller expects: a body that claims or sends more
    // than Orthanc listed is refused (the listing may be stale, so the job tries again).
    const tooLarge = (): TransientError =>
      new TransientError(
        'ORTHANC_TOO_LARGE',
        `${where} sends more than the ${maxBytes} bytes Orthanc listed`,
      );
    if (Number.isSafeInteger(announced) && announced > maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    return new Promise<Buffer>((resolve, reject) => {
      const sized = Number.isSafeInteger(announced) && announced >= 0;
      const out = sized ? alloc(announced) : undefined;
      const chunks: Buffer[] = [];
      let at = 0;
      let collected = 0;
      let failed = false;
      const fail = (err: BridgeError): void => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(err);
      };
      res.on('data', (c: Buffer) => {
        // Nothing is written into the buffer once the pull has failed: its owner may reuse it.
        if (failed) return;
        if (!out) {
          collected += c.length;
          if (collected > maxBytes) return fail(tooLarge());
          return void chunks.push(c);
        }
        if (at + c.length > announced)
          return fail(new TransientError('ORTHANC_BAD_LENGTH', `${where} sent more than announced`));
        c.copy(out, at);
        at += c.length;
      });
      res.on('error', (err) => fail(networkError(err, where)));
      res.on('aborted', () =>
        fail(new TransientError('ORTHANC_TRUNCATED', `${where} ended after ${at} of ${announced} bytes`)),
      );
      res.on('end', () => {
        if (failed) return;
        if (!out) return resolve(Buffer.concat(chunks));
        if (at !== announced)
          return fail(
            new TransientError('ORTHANC_TRUNCATED', `${where} ended after ${at} of ${announced} bytes`),
          );
        resolve(out);
      });
      res.on('close', () => {
        if (!failed && sized && at !== announced && !res.complete)
          fail(new TransientError('ORTHANC_TRUNCATED', `${where} ended after ${at} of ${announced} bytes`));
      });
    });
  }

  /**
   * Posts a body given in parts (header, pixel data), written as they are; answers the JSON reply.
   * Settles, either way, only once the parts are no longer read (they may be reused then).
   */
  async post(route: string, parts: readonly Buffer[], contentType: string): Promise<unknown> {
    const length = parts.reduce((n, p) => n + p.length, 0);
    const { res, where, written } = await this.send(
      'POST',
      route,
      { 'Content-Type': contentType, 'Content-Length': String(length), Accept: 'application/json' },
      parts,
    );
    try {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        BulkTransfer.drain(res);
        throw statusError(status, where, this.o.label);
      }
      const chunks: Buffer[] = [];
      try {
        for await (const c of res) chunks.push(c as Buffer);
      } catch (err) {
        throw networkError(err, where);
      }
      try {
        return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch {
        throw new TransientError('ORTHANC_BAD_JSON', `${where} returned a body that is not JSON`);
      }
    } finally {
      await written;
    }
  }
}
