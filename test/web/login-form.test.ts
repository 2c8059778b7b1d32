// The login form's stateless token: good from the browser it was given to, for its profile, for a limited time only.
import type { Request, Response } from 'express';
import { HttpError } from '../../api/errors';
import { createLoginFormTokens } from '../../api/web/login-form';
import { MESSAGES } from '../../api/web/messages';

const SECRET = 'login-form-test-secret-0123456789abcdef';
const TTL = 15 * 60_000;

/** A browser: keeps the cookie the page sets and posts the form with it. */
function browser() {
  const cookies: Record<string, string> = {};
  const res = {
    cookie: (name: string, value: string) => ((cookies[name] = value), res),
    clearCookie: (name: string) => (delete cookies[name], res),
  };
  return {
    cookies,
    res: res as unknown as Response,
    get: () => ({ cookies: { ...cookies } }) as unknown as Request,
    post: (formToken: unknown) => ({ cookies: { ...cookies }, body: { formToken } }) as unknown as Request,
  };
}

function refused(verify: () => void): HttpError | undefined {
  try {
    verify();
    return undefined;
  } catch (err) {
    return err as HttpError;
  }
}

describe('the login form token', () => {
  let now = Date.parse('2026-11-26T01:00:00Z');
  const tokens = createLoginFormTokens({ secret: SECRET, cookieName: 'certflow.enroll', secure: false, ttlMs: TTL, clock: () => now });

  test('when the form comes back from the browser it was given to, within its time, then it is accepted; spent, it is not', () => {
    const b = browser();
    const token = tokens.issue(b.get(), b.res, 'kdanshinnet');
    expect(Object.keys(b.cookies)).toEqual(['certflow.enroll.login']);
    now += TTL - 1000;
    expect(refused(() => tokens.verify(b.post(token), 'kdanshinnet'))).toBeUndefined();
    // A second view in the same browser keeps its nonce, so an earlier tab's form still works.
    const again = tokens.issue(b.get(), b.res, 'kdanshinnet');
    expect(refused(() => tokens.verify(b.post(again), 'kdanshinnet'))).toBeUndefined();
    expect(refused(() => tokens.verify(b.post(token), 'kdanshinnet'))).toBeUndefined();
    tokens.spend(b.res, 'kdanshinnet');
    expect(refused(() => tokens.verify(b.post(token), 'kdanshinnet'))).toMatchObject({ status: 403, code: 'form_token_invalid', message: MESSAGES.formTokenInvalid });
  });

  test.each([
    ['no token', (token: string) => ({ token: undefined as unknown, profile: 'kdanshinnet', shift: 0, cookie: true, secret: SECRET })],
    ['a made-up token', (token: string) => ({ token: `${token.split('.')[0]}.${'A'.repeat(43)}`, profile: 'kdanshinnet', shift: 0, cookie: true, secret: SECRET })],
    ['a token with its time moved', (token: string) => ({ token: `${(parseInt(token.split('.')[0]!, 36) + 60_000).toString(36)}.${token.split('.')[1]}`, profile: 'kdanshinnet', shift: 0, cookie: true, secret: SECRET })],
    ['a token of the other profile', (token: string) => ({ token, profile: 'nissay', shift: 0, cookie: true, secret: SECRET })],
    ['a token without its cookie (posted from another site or browser)', (token: string) => ({ token, profile: 'kdanshinnet', shift: 0, cookie: false, secret: SECRET })],
    ['an expired token', (token: string) => ({ token, profile: 'kdanshinnet', shift: TTL + 1, cookie: true, secret: SECRET })],
    ['a token from the far future', (token: string) => ({ token, profile: 'kdanshinnet', shift: -5 * 60_000, cookie: true, secret: SECRET })],
    ['a token signed with another secret', (token: string) => ({ token, profile: 'kdanshinnet', shift: 0, cookie: true, secret: `${SECRET}-other` })],
    ['an array of tokens', (token: string) => ({ token: [token, token], profile: 'kdanshinnet', shift: 0, cookie: true, secret: SECRET })],
  ])('when the form carries %s, then it is refused with the 403 of a stale form', (_what, variant) => {
    const b = browser();
    const issuedAt = now;
    const token = tokens.issue(b.get(), b.res, 'kdanshinnet');
    const v = variant(token);
    const checker = createLoginFormTokens({ secret: v.secret, cookieName: 'certflow.enroll', secure: false, ttlMs: TTL, clock: () => issuedAt + v.shift });
    const req = v.cookie ? b.post(v.token) : ({ cookies: {}, body: { formToken: v.token } } as unknown as Request);
    const error = refused(() => checker.verify(req, v.profile));
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 403, message: MESSAGES.formTokenInvalid });
    // The same form, unaltered and in time, passes: the refusal above is the variant's doing.
    expect(refused(() => tokens.verify(b.post(token), 'kdanshinnet'))).toBeUndefined();
  });
});
