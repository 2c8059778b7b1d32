// One-time secrets (the enrollment password) kept encrypted until their mail is sent, so only a reference crosses Temporal.
import crypto from 'node:crypto';
import type { Db } from '../infra/db';

export interface SealedSecrets {
  /** Encrypts the secret under the data key and returns the reference to pass through the workflow. */
  seal(secret: string): Promise<string>;
  /** The clear secret; throws `SealedSecretUnavailable` if the reference is unknown or already wiped. */
  open(ref: string): Promise<string>;
  /** Destroys the ciphertext for good; wiping twice is harmless. */
  wipe(ref: string): Promise<void>;
}

export class SealedSecretUnavailable extends Error {
  constructor(ref: string, why: 'unknown' | 'wiped') {
    super(`sealed secret ${ref} is ${why}`);
    this.name = 'SealedSecretUnavailable';
  }
}

export interface SealedSecretsDeps {
  db: Db;
  /** 32-byte AES-256 key (config.dataKey). */
  dataKey: Buffer;
  /** Bookkeeping timestamps only (when a row was written or wiped), not a business date. */
  clock?: () => Date;
}

const table = 'sealed_secrets';

export function createSealedSecrets({ db, dataKey, clock = () => new Date() }: SealedSecretsDeps): SealedSecrets {
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== 32) throw new Error('dataKey must be a 32-byte Buffer (AES-256)');

  return {
    async seal(secret) {
      if (typeof secret !== 'string' || secret.length === 0) throw new Error('cannot seal an empty secret');
      const ref = `sealed_${crypto.randomBytes(18).toString('base64url')}`;
      const nonce = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', dataKey, nonce);
      // Binding the reference as associated data stops a ciphertext from being replayed under another row.
      cipher.setAAD(Buffer.from(ref));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      await db(table).insert({ ref, ciphertext, nonce, created_at: clock() });
      return ref;
    },

    async open(ref) {
      const row = await db(table).where({ ref }).first<{ ciphertext: Buffer | null; nonce: Buffer | null } | undefined>();
      if (!row) throw new SealedSecretUnavailable(ref, 'unknown');
      if (!row.ciphertext || !row.nonce) throw new SealedSecretUnavailable(ref, 'wiped');
      const sealed = Buffer.from(row.ciphertext);
      const decipher = crypto.createDecipheriv('aes-256-gcm', dataKey, Buffer.from(row.nonce));
      decipher.setAAD(Buffer.from(ref));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
    },

    async wipe(ref) {
      await db(table).where({ ref }).whereNull('consumed_at').update({ ciphertext: null, nonce: null, consumed_at: clock() });
    },
  };
}
