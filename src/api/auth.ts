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
 * Slows down whoever keeps failing: each failure from an address doubles its next answer's delay
 * (capped), and the count decays after a quiet minute.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  constructor(
    private readonly baseMs = 200,
    private readonly maxMs = 5000,
  ) {}

  delayFor(address: string, now = Date.now()): number {
    const f = this.failures.get(address);
    if (!f || now - f.last > 60_000) return 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(f.count - 1, 10));
  }

  record(address: string, now = Date.now()): void {
    const f = this.failures.get(address);
    const count = f && now - f.last <= 60_000 ? f.count + 1 : 1;
    this.failures.set(address, { count, last: now });
    if (this.failures.size > 10_000) this.failures.clear(); // bounded memory under a flood
  }

  forget(address: string): void {
    this.failures.delete(address);
  }
}

/**
 * Express middleware requiring a credential of at least `need`. Failed attempts are logged with
 * the address and route, never with what was presented, and answered after a growing delay.
 */
export function requireRole(
  need: Role,
  creds: () => ApiCredentials,
  throttle: FailureThrottle,
  log: () => Logger,
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
    const address = req.socket.remoteAddress ?? 'unknown';
    const token = presentedToken(req.headers.authorization);
    const role = roleOf(token, c);
    if (role === 'admin' || (role === 'operator' && need === 'operator')) {
      throttle.forget(address);
      (req as Request & { role?: Role }).role = role;
      next();
      return;
    }
    const status = role === 'operator' ? 403 : 401;
    const delay = throttle.delayFor(address);
    throttle.record(address);
    log().warn('API access refused', {
      address,
      method: req.method,
      route: req.path,
      reason: token === undefined ? 'no credential' : role ? 'needs admin' : 'wrong credential',
      delayMs: delay,
    });
    setTimeout(() => {
      if (status === 401)
        res.set('WWW-Authenticate', 'Basic realm="orthanc-research-bridge", charset="UTF-8"');
      res.status(status).json({
        error: status === 401 ? 'a valid credential is required' : 'this action needs the admin credential',
      });
    }, delay).unref();
  };
}
