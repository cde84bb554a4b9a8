/**
 * A DICOMweb server (PS3.18): STOW-RS to store, WADO-RS to read back the stored bytes (MD5) where
 * the server returns them unchanged (Orthanc's DICOMweb plugin does), else QIDO-RS for presence.
 * Basic auth or a bearer token read from a file (read again on a 401, once), TLS with a CA file.
 */
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { DestinationConfig } from '../config';
import { TAG } from '../dicom/tags';
import { DestinationError, PermanentError, TransientError, type BridgeError } from '../errors';
import {
  failedOnStaleSocket,
  httpAgent,
  httpsAgent,
  retryStaleSockets,
  STALE_SOCKET_RETRIES,
} from '../orthanc/agents';
import { Batcher } from './batch';
import { NamedByUids, type Destination, type InstanceKey, type Receipt } from './types';

/** PS3.18 Table I.2-1 and PS3.4 status codes a STOW-RS FailureReason may hold, by name. */
const FAILURE_REASONS: Readonly<Record<number, string>> = {
  0x0110: 'processing failure',
  0x0111: 'duplicate SOP instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
};
const DUPLICATE = 0x0111;
/** The most a STOW-RS or QIDO-RS answer (JSON) may hold, and a WADO-RS answer (one instance). */
const ANSWER_LIMIT = 16 * 1024 * 1024;
const INSTANCE_LIMIT = 1024 * 1024 * 1024;
/** Instances stored at about the same moment go in one STOW-RS request, up to these bounds. */
const STOW_BATCH = { maxBytes: 16 * 1024 * 1024, lingerMs: 15 };

interface StowItem {
  readonly parts: readonly Buffer[];
  readonly key: InstanceKey;
}

type Json = Record<string, { Value?: unknown[] } | undefined>;

function items(body: unknown, tag: string): Json[] {
  const v = (body as Json | null)?.[tag]?.Value;
  return Array.isArray(v) ? (v as Json[]) : [];
}

function first(item: Json, tag: string): unknown {
  return item[tag]?.Value?.[0];
}

export class DicomWebDestination extends NamedByUids implements Destination {
  readonly kind = 'dicomweb';
  readonly proves;
  readonly canReplace = false;
  private readonly http: AxiosInstance;
  private token: string | undefined;
  private readonly stow: Batcher<StowItem, Receipt>;

  constructor(
    readonly label: string,
    private readonly cfg: DestinationConfig,
  ) {
    super();
    this.proves = cfg.confirm === 'md5' ? ('bytes' as const) : ('presence' as const);
    this.token = cfg.tokenFile ? this.readToken() : undefined;
    this.stow = new Batcher({ ...STOW_BATCH, maxItems: cfg.batch ?? 1 }, (items) => this.stowRequest(items));
    this.http = axios.create({
      baseURL: cfg.url.replace(/\/+$/, ''),
      timeout: cfg.timeoutMs,
      auth: cfg.username ? { username: cfg.username, password: cfg.password ?? '' } : undefined,
      httpAgent: httpAgent({ maxSockets: 8 }),
      httpsAgent: httpsAgent({ maxSockets: 8, ca: cfg.ca }),
      maxBodyLength: Infinity,
      maxContentLength: ANSWER_LIMIT,
      proxy: false,
      validateStatus: () => true,
      responseType: 'arraybuffer',
    });
    retryStaleSockets(this.http);
  }

  private readToken(): string {
    return readFileSync(this.cfg.tokenFile!, 'utf8').trim();
  }

  /** One request; a 401 with a token file reads the token again and tries once more (it may have been renewed). */
  private async request(
    method: 'GET' | 'POST',
    route: string,
    headers: Record<string, string>,
    body?: readonly Buffer[],
    limit = ANSWER_LIMIT,
  ): Promise<AxiosResponse<Buffer>> {
    // The body is streamed from its parts (the instances are never copied into one buffer), a
    // new stream for each try.
    const length = body?.reduce((n, b) => n + b.length, 0);
    const send = () =>
      this.http.request<Buffer>({
        method,
        url: route,
        data: body ? Readable.from(body, { objectMode: false }) : undefined,
        maxContentLength: limit,
        headers: {
          ...headers,
          ...(length !== undefined ? { 'Content-Length': String(length) } : {}),
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        },
      });
    const where = `${this.label} DICOMweb ${method} ${route.split('?')[0]}`;
    // A kept connection the server closed as the request went out: sent again, from the parts in a
    // new stream, at most STALE_SOCKET_RETRIES times (agents.ts; the client's own retry leaves
    // streamed bodies, which it cannot send again).
    const sendOnce = async (): Promise<AxiosResponse<Buffer>> => {
      for (let retry = 0; ; retry++) {
        try {
          return await send();
        } catch (err) {
          if (!body || retry >= STALE_SOCKET_RETRIES || !failedOnStaleSocket(err)) throw err;
        }
      }
    };
    try {
      let res = await sendOnce();
      if (res.status === 401 && this.cfg.tokenFile) {
        this.token = this.readToken();
        res = await sendOnce();
      }
      if (res.status === 401 || res.status === 403)
        throw new DestinationError(
          `DICOMWEB_HTTP_${res.status}`,
          `${where} answered ${res.status}: check the ${this.label} credentials or token`,
        );
      if (res.status >= 500 || res.status === 429 || res.status === 408)
        throw new TransientError(`DICOMWEB_HTTP_${res.status}`, `${where} answered ${res.status}`);
      return res;
    } catch (err) {
      if (err instanceof AxiosError) {
        if (/maxContentLength/.test(err.message))
          throw new PermanentError(
            'DICOMWEB_TOO_LARGE',
            `${where} answered more than ${Math.round(limit / 1048576)} MiB, the most this answer may hold`,
          );
        const code = String(err.code ?? 'ERR_NETWORK');
        throw new TransientError(`DICOMWEB_${code}`, `${where} failed: ${code}`);
      }
      throw err;
    }
  }

  /** Stores one instance; instances stored at about the same moment share one STOW-RS request. */
  store(parts: readonly Buffer[], key: InstanceKey): Promise<Receipt> {
    return this.stow.add(
      { parts, key },
      parts.reduce((n, p) => n + p.length, 0),
    );
  }

  /** One STOW-RS request for several instances; each answered from the server's lists. */
  private async stowRequest(batch: readonly StowItem[]): Promise<Array<Receipt | Error>> {
    const boundary = `bridge-${randomBytes(12).toString('hex')}`;
    const body: Buffer[] = [];
    for (const { parts } of batch)
      body.push(
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'),
        ...parts,
        Buffer.from('\r\n', 'latin1'),
      );
    body.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    const res = await this.request(
      'POST',
      '/studies',
      {
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        Accept: 'application/dicom+json',
      },
      body,
    );
    let answer: unknown = {};
    try {
      answer = this.json(res, 'STOW-RS', {});
    } catch {
      // An answer that is no JSON: its status says what happened (below).
    }
    const failed = new Map(
      items(answer, TAG.FailedSOPSequence).map((i) => [first(i, TAG.ReferencedSOPInstanceUID), i]),
    );
    const stored = new Set(
      items(answer, TAG.ReferencedSOPSequence).map((i) => first(i, TAG.ReferencedSOPInstanceUID)),
    );
    // A refusal of the whole request that names no instance: one bad instance must not fail the
    // others, so each is sent again alone and answered for itself.
    if (batch.length > 1 && res.status >= 400 && failed.size === 0 && stored.size === 0)
      return Promise.all(
        batch.map((item) =>
          this.stowRequest([item]).then(
            (r) => r[0]!,
            (err: unknown) => err as Error,
          ),
        ),
      );
    return batch.map(({ key }) => {
      const receipt = { id: this.idOf(key), studyId: this.studyIdOf(key) };
      const refused = failed.get(key.sopUid);
      if (refused) {
        const code = Number(first(refused, TAG.FailureReason));
        if (code === DUPLICATE) return { ...receipt, already: true };
        const name = FAILURE_REASONS[code] ?? 'an unknown failure reason';
        const reason = `${this.label} DICOMweb STOW-RS refused the instance: ${name} (FailureReason ${Number.isFinite(code) ? `0x${code.toString(16).padStart(4, '0')}` : 'absent'})`;
        return code === 0xa700
          ? new TransientError('DICOMWEB_STOW_RESOURCES', reason)
          : new PermanentError('DICOMWEB_STOW_FAILED', reason);
      }
      if (res.status >= 400 && !stored.has(key.sopUid))
        return new PermanentError(
          `DICOMWEB_HTTP_${res.status}`,
          `${this.label} DICOMweb STOW-RS answered ${res.status}`,
        );
      if (!stored.has(key.sopUid))
        return new TransientError(
          'DICOMWEB_STOW_UNLISTED',
          `${this.label} DICOMweb STOW-RS did not list the instance as stored`,
        );
      return { ...receipt, already: false };
    });
  }

  async held(id: string): Promise<string | 'present' | undefined> {
    const [study, series, sop] = id.split('/');
    if (!study || !series || !sop) return undefined;
    if (this.proves === 'presence') {
      const res = await this.request('GET', `/instances?SOPInstanceUID=${encodeURIComponent(sop)}`, {
        Accept: 'application/dicom+json',
      });
      if (res.status === 404 || res.status === 204) return undefined;
      if (res.status !== 200) throw this.unexpected('QIDO-RS', res.status);
      const list = this.json(res, 'QIDO-RS', []);
      return Array.isArray(list) && list.length > 0 ? 'present' : undefined;
    }
    const part = await this.read(id, INSTANCE_LIMIT);
    return part && createHash('md5').update(part).digest('hex');
  }

  /** The stored instance (WADO-RS), its bytes as the server returns them. */
  async read(id: string, maxBytes: number): Promise<Buffer | undefined> {
    const [study, series, sop] = id.split('/');
    if (!study || !series || !sop) return undefined;
    const res = await this.request(
      'GET',
      `/studies/${study}/series/${series}/instances/${sop}`,
      { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      undefined,
      Math.min(maxBytes, INSTANCE_LIMIT),
    );
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.unexpected('WADO-RS', res.status);
    const part = firstPart(Buffer.from(res.data), String(res.headers['content-type'] ?? ''));
    if (!part)
      throw new TransientError('DICOMWEB_WADO_BODY', `${this.label} DICOMweb WADO-RS sent no DICOM part`);
    return part;
  }

  /** A JSON answer, or `empty` for no body; anything else is named, never quoted. */
  private json(res: AxiosResponse<Buffer>, what: string, empty: unknown): unknown {
    const text = Buffer.from(res.data).toString('utf8');
    if (text.trim() === '') return empty;
    try {
      return JSON.parse(text);
    } catch {
      throw new TransientError(
        'DICOMWEB_BAD_JSON',
        `${this.label} DICOMweb ${what} answered something that is not JSON`,
      );
    }
  }

  private unexpected(what: string, status: number): BridgeError {
    return new PermanentError(`DICOMWEB_HTTP_${status}`, `${this.label} DICOMweb ${what} answered ${status}`);
  }

  deleteInstance(): Promise<void> {
    return Promise.reject(
      new PermanentError(
        'DICOMWEB_NO_DELETE',
        `${this.label}: a DICOMweb destination cannot delete an instance`,
      ),
    );
  }

  deleteStudy(): Promise<void> {
    return Promise.reject(
      new PermanentError('DICOMWEB_NO_DELETE', `${this.label}: a DICOMweb destination cannot delete a study`),
    );
  }

  async probe(): Promise<string> {
    const res = await this.request('GET', '/studies?limit=1', { Accept: 'application/dicom+json' });
    if (res.status !== 200 && res.status !== 204) throw this.unexpected('QIDO-RS', res.status);
    return `DICOMweb (QIDO-RS answered ${res.status}) at ${this.cfg.url}`;
  }
}

/** The body of the first part of a multipart/related answer (RFC 2387), or undefined. */
export function firstPart(body: Buffer, contentType: string): Buffer | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const start = body.indexOf(delimiter);
  if (start < 0) return undefined;
  const headersEnd = body.indexOf('\r\n\r\n', start, 'latin1');
  if (headersEnd < 0) return undefined;
  const end = body.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), headersEnd + 4);
  return end < 0 ? undefined : body.subarray(headersEnd + 4, end);
}
