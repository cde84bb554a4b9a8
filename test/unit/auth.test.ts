import { addressKey, FailureThrottle, presentedToken, roleOf, sameSecret } from '../../src/api/auth';

describe('API credentials', () => {
  const creds = { operatorToken: 'operator-token-0123456789', adminToken: 'admin-token-0123456789ab' };

  it('reads bearer tokens and basic-auth passwords', () => {
    expect(presentedToken('Bearer abc')).toBe('abc');
    expect(presentedToken(`Basic ${Buffer.from('anyone:s3cret:with:colons').toString('base64')}`)).toBe(
      's3cret:with:colons',
    );
    expect(presentedToken('Digest x')).toBeUndefined();
    expect(presentedToken(undefined)).toBeUndefined();
  });

  it('grants the admin role to the admin token only', () => {
    expect(roleOf(creds.adminToken, creds)).toBe('admin');
    expect(roleOf(creds.operatorToken, creds)).toBe('operator');
    expect(roleOf('operator-token-012345678', creds)).toBeUndefined();
    expect(roleOf(undefined, creds)).toBeUndefined();
    expect(sameSecret('a', 'a') && !sameSecret('a', 'ab')).toBe(true);
  });

  it('makes an address wait longer after each failure, and forgets after a quiet minute', () => {
    const t = new FailureThrottle(100, 1000);
    expect(t.waitFor('1.2.3.4', 0)).toBe(0);
    t.record('1.2.3.4', 0);
    expect(t.waitFor('1.2.3.4', 10)).toBe(90);
    expect(t.waitFor('1.2.3.4', 100)).toBe(0);
    t.record('1.2.3.4', 200);
    t.record('1.2.3.4', 300);
    expect(t.waitFor('1.2.3.4', 300)).toBe(400);
    for (let i = 0; i < 10; i++) t.record('1.2.3.4', 1000);
    expect(t.waitFor('1.2.3.4', 1000)).toBe(1000);
    expect(t.waitFor('5.6.7.8', 1000)).toBe(0);
    expect(t.waitFor('1.2.3.4', 70_000)).toBe(0);
  });

  it('answers every credential 429 once the global failure budget of the minute is spent', () => {
    const t = new FailureThrottle(100, 1000, 50);
    for (let i = 0; i < 50; i++) t.record(`10.0.${i >> 8}.${i & 255}`, 1000);
    expect(t.waitFor('192.0.2.1', 1001)).toBe(59_999);
    expect(t.waitFor('192.0.2.1', 61_000)).toBe(0);
  });

  it('keeps penalising after a flood of failures from many addresses (the map is bounded, not cleared)', () => {
    const t = new FailureThrottle(100, 5000, 1_000_000, 100);
    for (let i = 0; i < 5; i++) t.record('203.0.113.7', 0);
    for (let i = 0; i < 10_002; i++) t.record(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1);
    expect(t.waitFor('203.0.113.7', 2)).toBe(0); // evicted only because the budget here is unlimited...
    const g = new FailureThrottle(100, 5000, 300, 100);
    for (let i = 0; i < 5; i++) g.record('203.0.113.7', 0);
    for (let i = 0; i < 10_002; i++) g.record(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1);
    expect(g.waitFor('203.0.113.7', 2)).toBeGreaterThan(0); // ...with the default budget the flood is stopped
  });

  it('groups IPv6 addresses by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
  });
});
