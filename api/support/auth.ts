// Bearer tokens from configuration, each with a role; compared in constant time so a guess learns nothing from timing.
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Actor } from '../../domain';
import { HttpError } from '../errors';

/** A bearer token of the support API and whose it is (configured in CERTFLOW_API_TOKENS). */
export interface ApiToken {
  token: string;
  role: Actor['role'];
  agent: string;
}

const digest = (value: string) => crypto.createHash('sha256').update(value, 'utf8').digest();

export function authenticate(tokens: ApiToken[]): RequestHandler {
  // Equal-length digests let timingSafeEqual compare tokens of any length.
  const known = tokens.map((t) => ({ digest: digest(t.token), actor: { agent: t.agent, role: t.role } as Actor }));
  return (req, res, next) => {
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(req.get('authorization') ?? '');
    if (!match) return next(HttpError.unauthorized());
    const presented = digest(match[1]!);
    let actor: Actor | undefined;
    // Every token is compared, so the time taken does not say which one nearly matched.
    for (const k of known) if (crypto.timingSafeEqual(k.digest, presented)) actor = k.actor;
    if (!actor) return next(HttpError.unauthorized('the bearer token is not valid'));
    res.locals.actor = actor;
    next();
  };
}

/** admin may do everything support may. */
export function permits(actor: Actor, role: Actor['role']): boolean {
  return role === 'support' || actor.role === 'admin';
}
