// Issued private keys at rest: AES-256-GCM under the data key, bound to their issuance so rows cannot be swapped.
import crypto from 'node:crypto';

export interface SealedKey {
  ciphertext: Buffer;
  nonce: Buffer;
}

function associatedData(issuanceKey: string): Buffer {
  return Buffer.from(`certflow:pki:private-key:${issuanceKey}`);
}

export function sealPrivateKey(dataKey: Buffer, issuanceKey: string, privateKey: crypto.KeyObject): SealedKey {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(associatedData(issuanceKey));
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final(), cipher.getAuthTag()]);
  pkcs8.fill(0);
  return { ciphertext, nonce };
}

export function openPrivateKey(dataKey: Buffer, issuanceKey: string, sealed: SealedKey): crypto.KeyObject {
  const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', dataKey, sealed.nonce);
  decipher.setAAD(associatedData(issuanceKey));
  decipher.setAuthTag(tag);
  const pkcs8 = Buffer.concat([decipher.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - 16)), decipher.final()]);
  try {
    return crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
  }
}
