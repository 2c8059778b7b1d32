// Private keys at rest: sealed under the data key, bound to their row (an issuance, or a key waiting in the pool) so
// rows cannot be swapped.
import type crypto from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { open, seal, type Sealed } from '../../infra/aead';

export type SealedKey = Sealed;

const label = (issuanceKey: string) => `certflow:pki:private-key:${issuanceKey}`;
const poolLabel = (poolId: string) => `certflow:pki:pooled-key:${poolId}`;

function sealUnder(dataKey: Buffer, boundTo: string, privateKey: crypto.KeyObject): SealedKey {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    return seal(dataKey, boundTo, pkcs8);
  } finally {
    pkcs8.fill(0);
  }
}

function openUnder(dataKey: Buffer, boundTo: string, sealed: SealedKey): crypto.KeyObject {
  const pkcs8 = open(dataKey, boundTo, sealed);
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
  }
}

export function sealPrivateKey(dataKey: Buffer, issuanceKey: string, privateKey: crypto.KeyObject): SealedKey {
  return sealUnder(dataKey, label(issuanceKey), privateKey);
}

export function openPrivateKey(dataKey: Buffer, issuanceKey: string, sealed: SealedKey): crypto.KeyObject {
  return openUnder(dataKey, label(issuanceKey), sealed);
}

/** A key waiting in the pool, sealed like an issued one but bound to its pool row until an issuance claims it. */
export function sealPooledKey(dataKey: Buffer, poolId: string, privateKey: crypto.KeyObject): SealedKey {
  return sealUnder(dataKey, poolLabel(poolId), privateKey);
}

export function openPooledKey(dataKey: Buffer, poolId: string, sealed: SealedKey): crypto.KeyObject {
  return openUnder(dataKey, poolLabel(poolId), sealed);
}
