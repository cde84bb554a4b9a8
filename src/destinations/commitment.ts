/**
 * DICOM Storage Commitment (Push Model, PS3.4 Annex J) as the SCU: an N-ACTION asks the peer to
 * take responsibility for a list of SOP instances; the peer answers later with an
 * N-EVENT-REPORT on an association it opens to us, naming each instance committed or failed.
 *
 * dcmjs-dimse, not dcmtk: dcmtk ships no storage commitment tool, and receiving the report needs
 * a listening SCP inside the bridge. The library speaks both N-ACTION and N-EVENT-REPORT; it is
 * used for these two messages only (the C-STORE itself stays with dcmtk's storescu).
 *
 * Bounds: the listener accepts associations only for our AE title and for the commitment SOP
 * class, with a PDU length of 64 KiB and timeouts; a request names at most MAX_PER_REQUEST
 * instances; a report that never comes ends in a named, retryable error.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type dimse from 'dcmjs-dimse';
import { TransientError, PermanentError } from '../errors';
import { SOP_CLASS, WELL_KNOWN_INSTANCE } from '../dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../dicom/syntaxes';

type Dimse = typeof dimse;
let library: Promise<Dimse> | undefined;

/**
 * The library, loaded on the first commitment (60 ms at start, with its codecs, that a bridge
 * without a commitment destination never needs).
 */
function load(): Promise<Dimse> {
  library ??= import('dcmjs-dimse').then((m) => {
    const lib = ((m as { default?: Dimse }).default ?? m) as Dimse;
    // The library's own log would print associations and datasets to the console: ours logs instead.
    lib.log.setLevel('silent');
    return lib;
  });
  return library;
}

/** Instances named by one N-ACTION; a study with more is asked in several. */
export const MAX_PER_REQUEST = 500;
const MAX_PDU = 65536;

/** One SOP instance to commit. */
export interface CommitItem {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
}

/** The peer's answer: the SOP Instance UIDs it committed, and those it failed with their reason. */
export interface CommitResult {
  readonly committed: ReadonlySet<string>;
  readonly failed: ReadonlyMap<string, number>;
}

export interface CommitmentSettings {
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly calledAet: string;
  readonly callingAet: string;
  /** Where the peer's N-EVENT-REPORT arrives: our port for its association back (all interfaces). */
  readonly listenPort: number;
  /** How long to wait for the report after the N-ACTION was accepted. */
  readonly reportTimeoutMs: number;
  readonly timeoutMs: number;
}

interface Waiter {
  readonly resolve: (r: CommitResult) => void;
}

/** Transactions waiting for their report, in this process (UIDs are unique to each request). */
const waiting = new Map<string, Waiter>();

type Elements = Record<string, unknown>;
type ReportRequest = dimse.requests.NEventReportRequest;
type ReportCallback = (response: dimse.responses.NEventReportResponse) => void;

/**
 * Hands a report to whoever waits for its transaction, and acknowledges it. A report for a
 * transaction nobody waits for (a restart, a timeout) is acknowledged all the same: the peer must
 * not retry it forever. A forged report must guess a 128-bit random transaction UID.
 */
function answerReport(lib: Dimse, request: ReportRequest, callback: ReportCallback): void {
  const response = lib.responses.NEventReportResponse.fromRequest(request);
  const dataset = request.getDataset();
  const report = dataset ? readReport(dataset.getElements()) : undefined;
  const waiter = report ? waiting.get(report.transactionUid) : undefined;
  if (report && waiter) {
    waiting.delete(report.transactionUid);
    waiter.resolve(report.result);
  }
  response.setStatus(lib.constants.Status.Success);
  callback(response);
}

function items(v: unknown): Elements[] {
  return Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Elements[]) : [];
}

/** A transaction UID (2.25 + 128 random bits), unique to one N-ACTION. */
function transactionUid(): string {
  return '2.25.' + BigInt('0x' + randomBytes(16).toString('hex')).toString(10);
}

/** Reads an N-EVENT-REPORT's dataset: the transaction it answers and each instance's fate. */
export function readReport(elements: Elements): { transactionUid: string; result: CommitResult } {
  const committed = new Set<string>();
  const failed = new Map<string, number>();
  for (const it of items(elements.ReferencedSOPSequence)) {
    const uid = it.ReferencedSOPInstanceUID;
    if (typeof uid === 'string') committed.add(uid);
  }
  for (const it of items(elements.FailedSOPSequence)) {
    const uid = it.ReferencedSOPInstanceUID;
    if (typeof uid === 'string') failed.set(uid, Number(it.FailureReason ?? 0));
  }
  const t = elements.TransactionUID;
  return { transactionUid: typeof t === 'string' ? t : '', result: { committed, failed } };
}

/** A listener for reports on one port, shared by every destination (and config reload) using it. */
interface Listener {
  readonly ready: Promise<void>;
  readonly aets: Set<string>;
  server?: InstanceType<Dimse['Server']>;
}

const listeners = new Map<number, Listener>();

/** dcmjs-dimse's listen() reports no bind error: check the port first, and name the fault. */
function portFree(label: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', () =>
      reject(
        new PermanentError(
          'DIMSE_COMMITMENT_PORT',
          `${label}: the storage commitment port ${port} is in use; the peer's reports cannot be received`,
        ),
      ),
    );
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/** Starts (once per port) the SCP that receives the peers' reports, for the AE titles registered on it. */
function listen(label: string, port: number, aet: string, timeoutMs: number): Promise<void> {
  const existing = listeners.get(port);
  if (existing) {
    existing.aets.add(aet);
    return existing.ready;
  }
  const aets = new Set([aet]);
  const scpOf = (lib: Dimse) => {
    const { RejectResult, RejectSource, RejectReason, PresentationContextResult } = lib.constants;
    return class ReportScp extends lib.Scp {
      override associationRequested(association: dimse.association.Association): void {
        if (!aets.has(association.getCalledAeTitle().trim())) {
          this.sendAssociationReject(
            RejectResult.Permanent,
            RejectSource.ServiceUser,
            RejectReason.CalledAeNotRecognized,
          );
          return;
        }
        association.setMaxPduLength(MAX_PDU);
        for (const c of association.getPresentationContexts()) {
          const context = association.getPresentationContext(c.id);
          const syntaxes = context.getTransferSyntaxUids();
          const syntax = [
            TRANSFER_SYNTAX.ExplicitVRLittleEndian,
            TRANSFER_SYNTAX.ImplicitVRLittleEndian,
          ].find((t) => syntaxes.includes(t));
          if (context.getAbstractSyntaxUid() !== SOP_CLASS.StorageCommitmentPushModel)
            context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          else if (!syntax) context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
          else context.setResult(PresentationContextResult.Accept, syntax);
        }
        this.sendAssociationAccept();
      }

      override nEventReportRequest(request: ReportRequest, callback: ReportCallback): void {
        answerReport(lib, request, callback);
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }
    };
  };
  const listener: Listener = {
    aets,
    ready: portFree(label, port).then(async () => {
      const lib = await load();
      const server = new lib.Server(scpOf(lib));
      server.on('networkError', () => undefined);
      server.listen(port, {
        connectTimeout: timeoutMs,
        associationTimeout: timeoutMs,
        pduTimeout: timeoutMs,
      });
      listener.server = server;
    }),
  };
  listeners.set(port, listener);
  listener.ready.catch(() => listeners.delete(port));
  return listener.ready;
}

/**
 * The SCU of one destination; its reports arrive at the listener of its port, started on the
 * first request and stopped by `close()`.
 */
export class StorageCommitment {
  constructor(private readonly s: CommitmentSettings) {}

  /**
   * Asks the peer to commit `list` and waits for its report; each instance committed, failed, or
   * (absent from the report) neither.
   */
  async commit(list: readonly CommitItem[]): Promise<CommitResult> {
    await listen(this.s.label, this.s.listenPort, this.s.callingAet, this.s.timeoutMs);
    const committed = new Set<string>();
    const failed = new Map<string, number>();
    for (let i = 0; i < list.length; i += MAX_PER_REQUEST) {
      const r = await this.request(list.slice(i, i + MAX_PER_REQUEST));
      for (const u of r.committed) committed.add(u);
      for (const [u, why] of r.failed) failed.set(u, why);
    }
    return { committed, failed };
  }

  private async request(list: readonly CommitItem[]): Promise<CommitResult> {
    const uid = transactionUid();
    let timer: NodeJS.Timeout | undefined;
    const report = new Promise<CommitResult>((resolve, reject) => {
      waiting.set(uid, { resolve });
      timer = setTimeout(() => {
        waiting.delete(uid);
        reject(
          new TransientError(
            'DIMSE_COMMITMENT_TIMEOUT',
            `${this.s.label}: no storage commitment report within ${this.s.reportTimeoutMs} ms (is ${this.s.callingAet} at port ${this.s.listenPort} known to the peer?)`,
          ),
        );
      }, this.s.reportTimeoutMs);
    });
    report.catch(() => undefined);
    try {
      await this.sendAction(await load(), uid, list);
      return await report;
    } finally {
      clearTimeout(timer);
      waiting.delete(uid);
    }
  }

  /** The N-ACTION itself: resolved when the peer accepted it (status Success). */
  private sendAction(lib: Dimse, uid: string, list: readonly CommitItem[]): Promise<void> {
    const { Client, Dataset } = lib;
    const { NActionRequest } = lib.requests;
    const { Status } = lib.constants;
    return new Promise((resolve, reject) => {
      const client = new Client();
      const request = new NActionRequest(
        SOP_CLASS.StorageCommitmentPushModel,
        WELL_KNOWN_INSTANCE.StorageCommitmentPushModel,
        1,
      );
      request.setDataset(
        new Dataset({
          TransactionUID: uid,
          ReferencedSOPSequence: list.map((it) => ({
            ReferencedSOPClassUID: it.sopClassUid,
            ReferencedSOPInstanceUID: it.sopInstanceUid,
          })),
        }),
      );
      let status: number | undefined;
      request.on('response', (response: dimse.responses.NActionResponse) => {
        status = response.getStatus();
      });
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      client.on('associationRejected', (r: { result: number; reason: number }) =>
        done(
          new PermanentError(
            'DIMSE_ASSOCIATION_REJECTED',
            `${this.s.label}: the DICOM peer rejected the storage commitment association (result ${r.result}, reason ${r.reason})`,
          ),
        ),
      );
      client.on('networkError', () =>
        done(
          new TransientError(
            'DIMSE_UNREACHABLE',
            `${this.s.label}: the DICOM peer cannot be reached for storage commitment, or ended the association`,
          ),
        ),
      );
      client.on('closed', () => {
        if (status === Status.Success) done();
        else if (status === undefined)
          done(
            new TransientError(
              'DIMSE_COMMITMENT_FAILED',
              `${this.s.label}: the DICOM peer answered no N-ACTION (does it support storage commitment?)`,
            ),
          );
        else
          done(
            new PermanentError(
              'DIMSE_COMMITMENT_REFUSED',
              `${this.s.label}: the DICOM peer refused the storage commitment request (status 0x${status.toString(16).padStart(4, '0')})`,
            ),
          );
      });
      // Some peers report on the N-ACTION's own association.
      client.on('nEventReportRequest', (r: ReportRequest, cb: ReportCallback) => answerReport(lib, r, cb));
      client.addRequest(request);
      client.send(this.s.host, this.s.port, this.s.callingAet, this.s.calledAet, {
        connectTimeout: this.s.timeoutMs,
        associationTimeout: this.s.timeoutMs,
        pduTimeout: this.s.timeoutMs,
      });
    });
  }

  /** Stops the listener of this destination's port; requests still waiting end with their timeout. */
  async close(): Promise<void> {
    const listener = listeners.get(this.s.listenPort);
    if (!listener) return;
    listeners.delete(this.s.listenPort);
    await listener.ready.catch(() => undefined);
    listener.server?.close();
  }
}
