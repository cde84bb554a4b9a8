/**
 * A DICOM peer over DIMSE: C-STORE with dcmtk's `storescu`; confirmation by storage commitment
 * (`confirm: "commitment"`, commitment.ts), by C-FIND at IMAGE level with `findscu` where the peer
 * answers queries (`confirm: "c-find"`), else none. dcmtk (Debian
 * `dcmtk`) rather than a JavaScript DIMSE library: its SCU is the reference many archives are
 * tested against, it is packaged and patched by Debian, and the npm libraries say of themselves
 * that they are not for clinical use. Each call is its own process, bounded in time; the
 * instance's own transfer syntax is proposed (`-R`), so nothing is transcoded.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DestinationConfig } from '../config';
import { PermanentError, TransientError } from '../errors';
import { Batcher } from './batch';
import { StorageCommitment } from './commitment';
import { spoolFolder } from './spool';
import { NamedByUids, type Destination, type InstanceKey, type Receipt } from './types';

/** Instances stored at about the same moment share one association (one storescu), up to these bounds. */
const ASSOCIATION_BATCH = { maxBytes: 64 * 1024 * 1024, lingerMs: 15 };

interface StoreItem {
  readonly parts: readonly Buffer[];
  readonly key: InstanceKey;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a dcmtk tool, bounded in time and output; its log (stderr) is read, never a value of a file. */
function run(tool: string, args: readonly string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT')
          return reject(
            new PermanentError('DIMSE_NO_DCMTK', `${tool} is not installed (Debian package dcmtk)`),
          );
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

/** What dcmtk said went wrong, in its own words for the association and the DIMSE status. */
export function dimseFault(label: string, output: string): PermanentError | TransientError {
  const line = (re: RegExp) => re.exec(output)?.[1]?.trim();
  if (/Association Rejected/.test(output)) {
    const result = line(/Result:\s*([^\n]+)/) ?? 'rejected';
    const reason = line(/Reason:\s*([^\n]+)/) ?? 'no reason given';
    const message = `${label}: the DICOM peer rejected the association (${result}; ${reason})`;
    return /Transient/.test(result)
      ? new TransientError('DIMSE_ASSOCIATION_REJECTED', message)
      : new PermanentError('DIMSE_ASSOCIATION_REJECTED', message);
  }
  if (/TCP Initialization Error|Connection refused|timed out|Timeout/i.test(output))
    return new TransientError('DIMSE_UNREACHABLE', `${label}: the DICOM peer cannot be reached`);
  if (/No presentation context/i.test(output))
    return new PermanentError(
      'DIMSE_NO_CONTEXT',
      `${label}: the DICOM peer accepted no presentation context for this SOP class and transfer syntax`,
    );
  const status = line(/Store Response \(([^)\n]+)\)/) ?? line(/Store SCU Failed:\s*([^\n]+)/);
  if (status) return new PermanentError('DIMSE_STORE_FAILED', `${label}: C-STORE answered ${status}`);
  return new TransientError('DIMSE_FAILED', `${label}: storescu failed without a DIMSE status`);
}

export class DimseDestination extends NamedByUids implements Destination {
  readonly kind = 'dimse';
  readonly proves;
  readonly canReplace = false;
  private readonly peer: NonNullable<DestinationConfig['dimse']>;
  private readonly commitment: StorageCommitment | undefined;
  private readonly association: Batcher<StoreItem, Receipt>;

  constructor(
    readonly label: string,
    private readonly cfg: DestinationConfig,
    /** Where storescu's files are written (the data folder's spool, spool.ts). */
    private readonly spool: string = os.tmpdir(),
  ) {
    super();
    this.peer = cfg.dimse!;
    this.association = new Batcher({ ...ASSOCIATION_BATCH, maxItems: cfg.batch ?? 1 }, (items) =>
      this.storeMany(items),
    );
    this.proves =
      cfg.confirm === 'commitment' && this.peer.commitment
        ? ('commitment' as const)
        : cfg.confirm === 'c-find'
          ? ('presence' as const)
          : ('nothing' as const);
    const c = this.proves === 'commitment' ? this.peer.commitment : undefined;
    this.commitment = c
      ? new StorageCommitment({
          label,
          host: this.peer.host,
          port: this.peer.port,
          calledAet: this.peer.calledAet,
          callingAet: this.peer.callingAet,
          listenPort: c.port,
          reportTimeoutMs: c.reportTimeoutMs,
          timeoutMs: cfg.timeoutMs,
        })
      : undefined;
  }

  /** Under storage commitment the receipt carries the SOP Class UID too: the request names both. */
  override idOf(key: InstanceKey): string {
    const id = super.idOf(key);
    return this.commitment && key.sopClassUid ? `${id}/${key.sopClassUid}` : id;
  }

  private common(): string[] {
    const seconds = String(Math.max(1, Math.ceil(this.cfg.timeoutMs / 1000)));
    return [
      '-aet',
      this.peer.callingAet,
      '-aec',
      this.peer.calledAet,
      '-to',
      seconds,
      '-ta',
      seconds,
      '-td',
      seconds,
    ];
  }

  /** Stores one instance; instances stored at about the same moment share one association. */
  store(parts: readonly Buffer[], key: InstanceKey): Promise<Receipt> {
    return this.association.add(
      { parts, key },
      parts.reduce((n, p) => n + p.length, 0),
    );
  }

  /**
   * One storescu run, one association, for several instances; each answered by its own C-STORE
   * status (storescu's log names the file it sends, then the response to it).
   */
  private async storeMany(items: readonly StoreItem[]): Promise<Array<Receipt | Error>> {
    const dir = spoolFolder(this.spool, 'dimse');
    try {
      const files = items.map(({ parts }, i) => {
        const file = path.join(dir, `${i}.dcm`);
        writeFileSync(file, Buffer.concat(parts), { mode: 0o600 });
        return file;
      });
      // -nh: a failed C-STORE does not halt the others of the association.
      const r = await run(
        'storescu',
        ['-v', '-R', '-nh', ...this.common(), this.peer.host, String(this.peer.port), ...files],
        this.cfg.timeoutMs * (3 + items.length),
      );
      if (!/Association Accepted/.test(r.output)) {
        // storescu reads every file before it associates, and stops at one it cannot read: that
        // one is refused, the others are sent again without it.
        const unreadable = files.findIndex((f) => r.output.includes(`in file: ${f}`));
        if (unreadable >= 0 && items.length > 1) {
          const rest = await this.storeMany(items.filter((_, i) => i !== unreadable));
          const refused = new PermanentError(
            'DIMSE_UNREADABLE',
            `${this.label}: storescu cannot read the instance as a DICOM file`,
          );
          return items.map((_, i) => (i === unreadable ? refused : rest[i < unreadable ? i : i - 1]!));
        }
        // The association itself failed (rejected, unreachable): every instance with it.
        throw dimseFault(this.label, r.output);
      }
      const answers = new Map<string, string>();
      for (const block of r.output.split(/^I: Sending file: /m).slice(1))
        answers.set(block.slice(0, block.indexOf('\n')).trim(), block);
      return items.map(({ key }, i) => {
        const block = answers.get(files[i]!);
        // Success or a warning status (the peer stored it, maybe coerced): stored.
        if (block && /Received Store Response \((Success|Warning)/.test(block))
          return { id: this.idOf(key), studyId: this.studyIdOf(key), already: false };
        return dimseFault(this.label, block ?? r.output);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Storage commitment: one request for the study's instances; each is present when the peer
   * committed it, absent when it failed or went unnamed. Otherwise one query per instance.
   */
  async heldAll(ids: readonly string[]): Promise<Array<string | 'present' | undefined>> {
    if (!this.commitment) return Promise.all(ids.map((id) => this.held(id)));
    const items = ids.map((id) => {
      const [, , sopInstanceUid, sopClassUid] = id.split('/');
      if (!sopInstanceUid || !sopClassUid)
        throw new PermanentError(
          'DIMSE_COMMITMENT_RECEIPT',
          `${this.label}: a receipt without its SOP Class UID cannot be committed (stored before storage commitment was configured: run reprocess)`,
        );
      return { sopClassUid, sopInstanceUid };
    });
    const r = await this.commitment.commit(items);
    return items.map((it) => (r.committed.has(it.sopInstanceUid) ? 'present' : undefined));
  }

  async held(id: string): Promise<string | 'present' | undefined> {
    if (this.commitment) return (await this.heldAll([id]))[0];
    // Without a query service the peer cannot be asked: the C-STORE status is all there is.
    if (this.proves === 'nothing') return 'present';
    const [study, series, sop] = id.split('/');
    const r = await run(
      'findscu',
      [
        '-v',
        '-S',
        ...this.common(),
        '-k',
        'QueryRetrieveLevel=IMAGE',
        '-k',
        `StudyInstanceUID=${study}`,
        '-k',
        `SeriesInstanceUID=${series}`,
        '-k',
        `SOPInstanceUID=${sop}`,
        this.peer.host,
        String(this.peer.port),
      ],
      this.cfg.timeoutMs * 3,
    );
    if (r.code !== 0) throw dimseFault(this.label, r.output);
    return /Find Response: \d+ \(Pending\)/.test(r.output) ? 'present' : undefined;
  }

  deleteInstance(): Promise<void> {
    return Promise.reject(
      new PermanentError('DIMSE_NO_DELETE', `${this.label}: a DICOM peer cannot be asked to delete`),
    );
  }

  deleteStudy(): Promise<void> {
    return this.deleteInstance();
  }

  async close(): Promise<void> {
    await this.commitment?.close();
  }

  async probe(): Promise<string> {
    const r = await run(
      'echoscu',
      [...this.common(), this.peer.host, String(this.peer.port)],
      this.cfg.timeoutMs * 3,
    );
    if (r.code !== 0) throw dimseFault(this.label, r.output);
    return `DICOM peer ${this.peer.calledAet} answered C-ECHO at ${this.peer.host}:${this.peer.port}`;
  }
}
