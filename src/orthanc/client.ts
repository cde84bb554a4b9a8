import axios, { AxiosError, type AxiosInstance } from 'axios';
import { PermanentError, TransientError } from '../errors';
import { BulkTransfer, networkError, statusError, type TransferOptions } from './transfer';
import { httpAgent, httpsAgent, retryStaleSockets } from './agents';

/** Orthanc's change types we act on, named as Orthanc names them. */
export const ChangeType = {
  StableStudy: 'StableStudy',
} as const;

/** `POST /instances` statuses, named as Orthanc names them. */
export const Status = {
  Success: 'Success',
  AlreadyStored: 'AlreadyStored',
} as const;

export interface Change {
  readonly ChangeType: string;
  readonly ID: string;
  readonly ResourceType: string;
  readonly Seq: number;
  readonly Path?: string;
  readonly Date?: string;
}

export interface ChangesPage {
  readonly Changes: Change[];
  readonly Done: boolean;
  readonly Last: number;
}

export interface StudyInfo {
  readonly ID: string;
  readonly IsStable: boolean;
  readonly ParentPatient: string;
  readonly Series: string[];
  readonly LastUpdate?: string;
}

export interface StoreResult {
  readonly ID: string;
  readonly ParentStudy: string;
  readonly ParentSeries: string;
  readonly ParentPatient: string;
  readonly Status: string;
}

/** How to reach one Orthanc server; the bulk transfer path takes the same. */
export type OrthancClientOptions = TransferOptions;

/**
 * Typed client for the Orthanc REST routes the bridge uses. Keep-alive agents: moving many DICOM
 * files over fresh connections costs more than the transfer itself. Errors carry the route and
 * the HTTP status, never a response body (it could quote DICOM values).
 */
export class OrthancClient {
  private readonly http: AxiosInstance;
  /** Bulk DICOM bodies (pull, push) over node:http: see transfer.ts. */
  private readonly bulk: BulkTransfer;
  readonly label: string;
  readonly url: string;

  constructor(opts: OrthancClientOptions) {
    this.label = opts.label;
    this.url = opts.url;
    this.bulk = new BulkTransfer(opts);
    this.http = axios.create({
      baseURL: opts.url,
      timeout: opts.timeoutMs,
      auth: opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined,
      httpAgent: httpAgent({ maxSockets: 16 }),
      httpsAgent: httpsAgent({ maxSockets: 16, ca: opts.ca }),
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      // Uncompressed answers: Orthanc gzips JSON by default (HttpCompressionEnabled), and each
      // answer then cost both sides a compression stream, most of them a few dozen bytes (an MD5,
      // a study's facts); the bridge runs beside Orthanc, where bandwidth is not what is short.
      headers: { 'Accept-Encoding': 'identity' },
      // axios would otherwise read proxy settings from the environment.
      proxy: false,
    });
    retryStaleSockets(this.http);
  }

  private wrap(err: unknown, method: string, route: string): Error {
    const where = `${this.label} Orthanc ${method} ${route}`;
    if (err instanceof AxiosError) {
      const status = err.response?.status;
      if (status !== undefined) return statusError(status, where, this.label);
      if (err.code === 'ERR_BAD_RESPONSE')
        return new TransientError('ORTHANC_ERR_BAD_RESPONSE', `${where} failed: ERR_BAD_RESPONSE`);
      return networkError(err, where);
    }
    if (err instanceof SyntaxError)
      return new TransientError('ORTHANC_BAD_JSON', `${where} returned a body that is not JSON`);
    return new TransientError('ORTHANC_ERROR', `${where} failed`);
  }

  async getJson<T>(route: string, params?: Record<string, string | number>): Promise<T> {
    try {
      const res = await this.http.get(route, { params, responseType: 'json' });
      if (typeof res.data !== 'object' || res.data === null) throw new SyntaxError('not JSON');
      return res.data as T;
    } catch (err) {
      throw this.wrap(err, 'GET', route);
    }
  }

  /** GET that maps 404 to undefined (resource gone or metadata not set). */
  private async getOptional(route: string, responseType: 'json' | 'text'): Promise<unknown> {
    try {
      const res = await this.http.get(route, { responseType, validateStatus: (s) => s === 200 || s === 404 });
      return res.status === 404 ? undefined : res.data;
    } catch (err) {
      throw this.wrap(err, 'GET', route);
    }
  }

  changes(since: number, limit: number): Promise<ChangesPage> {
    return this.getJson('/changes', { since, limit });
  }

  /** The sequence number of the newest change (0 for an empty log). */
  async lastChangeSeq(): Promise<number> {
    const page = await this.getJson<ChangesPage>('/changes', { last: '' });
    return typeof page.Last === 'number' ? page.Last : 0;
  }

  async study(id: string): Promise<StudyInfo | undefined> {
    return (await this.getOptional(`/studies/${encodeURIComponent(id)}`, 'json')) as StudyInfo | undefined;
  }

  listStudies(): Promise<string[]> {
    return this.getJson('/studies');
  }

  /** The study's instances with their stored sizes (what a pull will cost in memory). */
  async studyInstances(studyId: string): Promise<Array<{ id: string; size: number }>> {
    const list = await this.getJson<Array<{ ID: string; FileSize?: number }>>(
      `/studies/${encodeURIComponent(studyId)}/instances`,
    );
    return list.map((i) => ({ id: i.ID, size: typeof i.FileSize === 'number' ? i.FileSize : 0 }));
  }

  /**
   * The stored file, read into one buffer of the announced size: no chunk list and no second copy,
   * so a 200 MB instance costs 200 MB. A body shorter than announced is a transient fault.
   * `maxBytes` (the size Orthanc listed) bounds what the body may claim or send;
   * `alloc` gives the buffer of the announced size the body is read into (a pooled one).
   */
  async instanceFile(id: string, maxBytes?: number, alloc?: (n: number) => Buffer): Promise<Buffer> {
    return this.bulk.get(`/instances/${encodeURIComponent(id)}/file`, maxBytes, alloc);
  }

  async metadata(
    level: 'studies' | 'instances',
    id: string,
    key: string | number,
  ): Promise<string | undefined> {
    const v = await this.getOptional(`/${level}/${encodeURIComponent(id)}/metadata/${key}`, 'text');
    return v === undefined ? undefined : String(v);
  }

  /** One element's raw value ("0010-1010"), or undefined when the instance has none. */
  async instanceTag(id: string, tag: string): Promise<string | undefined> {
    const v = await this.getOptional(`/instances/${encodeURIComponent(id)}/content/${tag}`, 'text');
    return v === undefined ? undefined : String(v).replace(/\0/g, '').trim();
  }

  async setMetadata(level: 'studies', id: string, key: number, value: string): Promise<void> {
    const route = `/${level}/${encodeURIComponent(id)}/metadata/${key}`;
    try {
      await this.http.put(route, value, { headers: { 'Content-Type': 'text/plain' } });
    } catch (err) {
      throw this.wrap(err, 'PUT', route);
    }
  }

  /** Stores a file given in parts (header, pixel data): streamed, never concatenated. */
  async storeInstance(parts: Buffer | readonly Buffer[]): Promise<StoreResult> {
    const list = Buffer.isBuffer(parts) ? [parts] : [...parts];
    const r = (await this.bulk.post('/instances', list, 'application/dicom')) as StoreResult | null;
    if (!r || typeof r.ID !== 'string')
      throw new TransientError('ORTHANC_BAD_JSON', `${this.label} Orthanc POST /instances returned no ID`);
    if (r.Status !== Status.Success && r.Status !== Status.AlreadyStored)
      throw new PermanentError(
        'ORTHANC_STORE_FAILED',
        `${this.label} Orthanc POST /instances answered Status ${String(r.Status)}`,
      );
    return r;
  }

  async instanceMd5(id: string): Promise<string | undefined> {
    const v = await this.getOptional(`/instances/${encodeURIComponent(id)}/attachments/dicom/md5`, 'text');
    return v === undefined ? undefined : String(v).trim();
  }

  deleteInstance(id: string): Promise<void> {
    return this.delete(`/instances/${encodeURIComponent(id)}`);
  }

  deleteStudy(id: string): Promise<void> {
    return this.delete(`/studies/${encodeURIComponent(id)}`);
  }

  /** Orthanc's version (GET /system). */
  async version(): Promise<string> {
    const system = await this.getJson<{ Version?: unknown }>('/system');
    return typeof system.Version === 'string' ? system.Version : 'unknown';
  }

  /** The plugins Orthanc loaded (GET /plugins): "python", "dicom-web"... */
  plugins(): Promise<string[]> {
    return this.getJson<string[]>('/plugins');
  }

  /** Orthanc's clock (GET /tools/now, UTC as "YYYYMMDDTHHMMSS"), as milliseconds since the epoch. */
  async clock(): Promise<number | undefined> {
    const v = String((await this.getOptional('/tools/now', 'text')) ?? '');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/.exec(v.trim());
    return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
  }

  /**
   * The Explorer plugin's answer for a study's state (GET /research-bridge/studies/{id}/state):
   * its status, and the plugin's own words when it could not ask the bridge (no token, token
   * refused, bridge unreachable). Only this route's `error` field is read: the plugin writes it.
   */
  async pluginProbe(studyId: string): Promise<{ status: number; error?: string }> {
    const route = `/research-bridge/studies/${encodeURIComponent(studyId)}/state`;
    try {
      const res = await this.http.get(route, { responseType: 'json', validateStatus: () => true });
      const error = (res.data as { error?: unknown } | null)?.error;
      return { status: res.status, error: typeof error === 'string' ? error.slice(0, 200) : undefined };
    } catch (err) {
      throw this.wrap(err, 'GET', route);
    }
  }

  private async delete(route: string): Promise<void> {
    try {
      await this.http.delete(route);
    } catch (err) {
      throw this.wrap(err, 'DELETE', route);
    }
  }
}
