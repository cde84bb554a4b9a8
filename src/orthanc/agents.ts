/**
 * HTTP(S) agents that keep connections to a server open between requests.
 *
 * Orthanc 1.10 (CivetWeb) answers `Keep-Alive: timeout=1` and has no setting to change it. Node's
 * agent keeps an idle socket only until a margin before the announced timeout
 * (`agentKeepAliveTimeoutBuffer`, 1000 ms unless set): with one second announced it kept none, and
 * every request opened a TCP connection of its own (648 connections for 650 requests in the
 * benchmark, each costing both processes a connection set-up, and a TLS handshake over HTTPS).
 * With a margin of 400 ms an idle socket is reused for up to 600 ms after its last answer, then
 * closed by this side, well before the server would close it; a server announcing nothing or more
 * keeps the agent's own behaviour. (Node versions without the option keep theirs: no reuse.)
 */
import { AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export const KEEP_ALIVE_MARGIN_MS = 400;

export interface AgentOptions {
  readonly maxSockets: number;
  /** Extra CA certificates (PEM), added to the system's: certificate checking is never replaced. */
  readonly ca?: string;
}

function common(o: AgentOptions): http.AgentOptions {
  // The option is newer than this project's @types/node.
  return {
    keepAlive: true,
    maxSockets: o.maxSockets,
    agentKeepAliveTimeoutBuffer: KEEP_ALIVE_MARGIN_MS,
  } as http.AgentOptions;
}

export function httpAgent(o: AgentOptions): http.Agent {
  return new http.Agent(common(o));
}

export function httpsAgent(o: AgentOptions): https.Agent {
  return new https.Agent({ ...common(o), ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}) });
}

/** The agent for one base URL's scheme. */
export function agentFor(url: URL, o: AgentOptions): http.Agent {
  return url.protocol === 'https:' ? httpsAgent(o) : httpAgent(o);
}

/**
 * A kept connection can be closed by the server just as a request goes out on it (a restart, a
 * server's own limit): the request then fails before any answer, with ECONNRESET or EPIPE. Such a
 * request is sent again, on another connection, at most twice (Node's documentation gives the
 * same advice). Every request the bridge sends may be repeated, in case the server did read it:
 * reads, metadata writes, and stores, which Orthanc and DICOMweb servers answer as already there.
 * A body given as a stream was consumed: the interceptor leaves it, and its sender sends it again
 * from its buffers in a new stream (DicomWebDestination's STOW-RS).
 */
export const STALE_SOCKET_RETRIES = 2;

export function staleSocket(err: unknown, req: { reusedSocket?: boolean } | undefined): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return req?.reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE');
}

/** Whether an axios request failed, before any answer, on a kept connection the server had closed. */
export function failedOnStaleSocket(err: unknown): boolean {
  if (!(err instanceof AxiosError) || err.response) return false;
  // Node's request, or follow-redirects' wrapper around the current one (axios's default).
  const sent = err.request as
    { reusedSocket?: boolean; _currentRequest?: { reusedSocket?: boolean } } | undefined;
  return staleSocket(err, sent?._currentRequest ?? sent);
}

/**
 * Sends a request again when it failed on a kept connection the server had closed. A streamed body
 * was consumed: its sender makes a new stream and sends again itself (DicomWebDestination).
 */
export function retryStaleSockets(client: AxiosInstance): void {
  client.interceptors.response.use(undefined, (err: AxiosError) => {
    const cfg = err.config as (InternalAxiosRequestConfig & { staleRetries?: number }) | undefined;
    const streamed = typeof (cfg?.data as { pipe?: unknown } | undefined)?.pipe === 'function';
    if (!cfg || streamed || !failedOnStaleSocket(err) || (cfg.staleRetries ?? 0) >= STALE_SOCKET_RETRIES)
      return Promise.reject(err);
    cfg.staleRetries = (cfg.staleRetries ?? 0) + 1;
    return client.request(cfg);
  });
}
