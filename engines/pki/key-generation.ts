// How each key algorithm's key pair is generated: on demand (Node's thread pool) and by the key pool's own thread.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from './profiles';

export type KeyParameters = ['rsa', { modulusLength: number }] | ['ec', { namedCurve: string }];

export const KEY_PARAMETERS: Record<KeyAlgorithm, KeyParameters> = {
  'rsa-2048': ['rsa', { modulusLength: 2048 }],
  'rsa-3072': ['rsa', { modulusLength: 3072 }],
  'ecdsa-p256': ['ec', { namedCurve: 'P-256' }],
};

const generateKeyPair = promisify(crypto.generateKeyPair) as (
  type: 'rsa' | 'ec',
  options: crypto.RSAKeyPairKeyObjectOptions | crypto.ECKeyPairKeyObjectOptions,
) => Promise<crypto.KeyPairKeyObjectResult>;

export interface KeyPair {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

/** A fresh key pair, generated in Node's thread pool at normal priority: a user is waiting for it. */
export function generateKey(algorithm: KeyAlgorithm): Promise<KeyPair> {
  const [type, options] = KEY_PARAMETERS[algorithm];
  return generateKeyPair(type, options);
}
