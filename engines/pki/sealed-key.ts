// Issued private keys at rest: sealed under the data key, bound to their issuance so rows cannot be swapped.
import type crypto from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { open, seal, type Sealed } from '../../infra/aead';

export type SealedKey = Sealed;

const label = (issuanceKey: string) => `certflow:pki:private-key:${issuanceKey}`;

export function sealPrivateKey(dataKey: Buffer, issuanceKey: string, privateKey: crypto.KeyObject): SealedKey {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    return seal(dataKey, label(issuanceKey), pkcs8);
  } finally {
    pkcs8.fill(0);
  }
}

export function openPrivateKey(dataKey: Buffer, issuanceKey: string, sealed: SealedKey): crypto.KeyObject {
  const pkcs8 = open(dataKey, label(issuanceKey), sealed);
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
  }
}
