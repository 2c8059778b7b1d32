// AES-256-GCM under the data key, bound to a label (associated data) so a ciphertext cannot be moved to another row.
import crypto from 'node:crypto';

export interface Sealed {
  /** Ciphertext followed by the 16-byte authentication tag. */
  ciphertext: Buffer;
  nonce: Buffer;
}

export function seal(dataKey: Buffer, label: string, plaintext: Buffer): Sealed {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', dataKey, nonce);
  cipher.setAAD(Buffer.from(label));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext, nonce };
}

/** Throws when the key, the label or the bytes are not the ones sealed. */
export function open(dataKey: Buffer, label: string, sealed: Sealed): Buffer {
  const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', dataKey, sealed.nonce);
  decipher.setAAD(Buffer.from(label));
  decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - 16));
  return Buffer.concat([decipher.update(body), decipher.final()]);
}
