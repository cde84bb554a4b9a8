import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiCredentials } from '../config';
import type { Logger } from '../log';

export type Role = 'operator' | 'admin';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison: both sides are hashed first, so lengths cannot leak either. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer <token>`, or Basic auth whose password is the token. */
export function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/** The role a token grants, or undefined. Both tokens are always compared, so timing says nothing. */
export function roleOf(token: string | undefined, creds: ApiCredentials): Role | undefined {
  if (token === undefined) return undefined;
  const admin = creds.adminToken !== undefined && sameSecret(token, creds.adminToken);
  const operator = creds.operatorToken !== undefined && sameSecret(token, creds.operatorToken);
  return admin ? 'admin' : operator ? 'operator' : undefined;
}

/**
 * The unit a penalty applies to: an IPv4 address, or an IPv6 address's /64 (one host usually holds
 * a whole /64, so penalising single IPv6 addresses would penalise nothing).
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g || '0', 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * Limits credential guessing. After a failure, the address (see addressKey) may not try again for
 * a delay that doubles with each failure (capped) and is answered 429 without any comparison
 * meanwhile, a correct token included, so parallel guesses gain nothing. A global budget of
 * failures per minute covers guesses spread over many addresses: once spent, every request with a
 * credential is answered 429 until the minute is over. Memory is bounded; an attacker cannot clear
 * the map, since the global budget runs out long before.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; last: number; until: number }>();
  private window = { start: -Infinity, failures: 0 };
  constructor(
    private readonly baseMs = 200,
    private readonly maxMs = 5000,
    private readonly globalPerMinute = 300,
    private readonly maxEntries = 10_000,
  ) {}

  /** Milliseconds until `key` may present a credential again; 0 when it may now. */
  waitFor(key: string, now = Date.now()): number {
    if (now - this.window.start < 60_000 && this.window.failures >= this.globalPerMinute)
      return this.window.start + 60_000 - now;
    const f = this.failures.get(key);
    return f && f.until > now ? f.until - now : 0;
  }

  record(key: string, now = Date.now()): void {
    if (now - this.window.start >= 60_000) this.window = { start: now, failures: 0 };
    this.window.failures++;
    const f = this.failures.get(key);
    const count = f && now - f.last <= 60_000 ? f.count + 1 : 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(count - 1, 10));
    this.failures.delete(key); // re-inserted last: the map's order is the order of last failure
    this.failures.set(key, { count, last: now, until: now + delay });
    if (this.failures.size > this.maxEntries) {
      for (const [k, v] of this.failures) {
        if (this.failures.size <= this.maxEntries) break;
        if (now - v.last > 60_000 || v.until <= now) this.failures.delete(k);
      }
      // Still full: the oldest go. The global budget has long been spent by then.
      for (const k of this.failures.keys()) {
        if (this.failures.size <= this.maxEntries) break;
        this.failures.delete(k);
      }
    }
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/**
 * Refusals are logged once per address and minute, and counted otherwise: a flood of refused
 * requests cannot rotate the log away. The counts of a minute are logged with the next refusal
 * after it.
 */
export class RefusalLog {
  private window = { start: -Infinity, total: 0, suppressed: 0, keys: new Set<string>() };
  constructor(private readonly maxKeys = 1000) {}

  /** True when this refusal should be logged in full. */
  note(key: string, log: Logger, now = Date.now()): boolean {
    if (now - this.window.start >= 60_000) {
      const w = this.window;
      if (w.suppressed > 0)
        log.warn('API refusals in the last minute', {
          refused: w.total,
          addresses: w.keys.size,
          notLogged: w.suppressed,
        });
      this.window = { start: now, total: 0, suppressed: 0, keys: new Set() };
    }
    this.window.total++;
    if (this.window.keys.has(key) || this.window.keys.size >= this.maxKeys) {
      this.window.suppressed++;
      return false;
    }
    this.window.keys.add(key);
    return true;
  }
}

/**
 * Refuses a state-changing request that a browser sent from another site: a page the admin visits
 * could otherwise use the Basic credentials the browser caches for the admin page. Browsers send
 * Sec-Fetch-Site and Origin on such requests; command-line clients send neither and pass.
 */
export function crossSiteRefusal(req: Request): string | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`;
  const origin = req.get('origin');
  if (origin === undefined) return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'the Origin header is not a URL';
  }
  const own = req.get('x-forwarded-host') ?? req.get('host');
  return host === own ? undefined : 'the Origin is another site';
}

/** Who did something, for the admin audit: the role and where it came from, never the token. */
export function actorOf(req: Request, via: string): string {
  const role = (req as Request & { role?: Role }).role ?? 'unknown';
  return `${via}:${role}@${addressKey(req.socket.remoteAddress)}`;
}

/**
 * Express middleware requiring a credential of at least `need`. While the address is penalised
 * (see FailureThrottle) the answer is 429 before anything is compared. Refusals are logged with the
 * address and route, never with what was presented, once per address and minute (RefusalLog).
 */
export function requireRole(
  need: Role,
  creds: () => ApiCredentials,
  throttle: FailureThrottle,
  log: () => Logger,
  refusals: RefusalLog = new RefusalLog(),
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const c = creds();
    if (!c.operatorToken && !c.adminToken) {
      res.status(503).json({
        error:
          'API access is not configured: set BRIDGE_API_TOKEN (and BRIDGE_ADMIN_TOKEN), or their _FILE variants',
      });
      return;
    }
    const key = addressKey(req.socket.remoteAddress);
    const refuse = (status: number, reason: string, body: string, retryMs = 0): void => {
      if (refusals.note(key, log()))
        log().warn('API access refused', { address: key, method: req.method, route: req.path, reason });
      if (status === 401)
        res.set('WWW-Authenticate', 'Basic realm="orthanc-research-bridge", charset="UTF-8"');
      if (retryMs > 0) res.set('Retry-After', String(Math.ceil(retryMs / 1000)));
      res.status(status).json({ error: body });
    };
    const wait = throttle.waitFor(key);
    if (wait > 0) {
      refuse(429, 'penalised after failed attempts', 'too many failed attempts; try again later', wait);
      return;
    }
    const token = presentedToken(req.headers.authorization);
    const role = roleOf(token, c);
    if (role === 'admin' || (role === 'operator' && need === 'operator')) {
      throttle.forget(key);
      (req as Request & { role?: Role }).role = role;
      next();
      return;
    }
    if (role === 'operator') {
      refuse(403, 'needs admin', 'this action needs the admin credential');
      return;
    }
    // Asking without a credential is how a browser learns it needs one: only a guess is penalised.
    if (token !== undefined) throttle.record(key);
    refuse(401, token === undefined ? 'no credential' : 'wrong credential', 'a valid credential is required');
  };
}
