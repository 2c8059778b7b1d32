// One-time secrets (the enrollment password) kept encrypted until their mail is sent, so only a reference crosses Temporal.
import crypto from 'node:crypto';
import { open, seal } from '../../infra/aead';
import type { Db } from '../../infra/db';

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
  /**
   * How long a secret not yet opened can still be needed (the longest guide validity and a day): older ones are wiped
   * at the next seal. Without this, the password of a registration that died before its workflow started would be kept
   * sealed for ever.
   */
  retentionMs?: number;
}

/** How long an enrollment password can be of use: its guide mail's validity, and a day. */
export function sealedSecretRetentionMs(guideValidityDays: number): number {
  return (guideValidityDays + 1) * 86_400_000;
}

const table = 'sealed_secrets';

export function createSealedSecrets({ db, dataKey, clock = () => new Date(), retentionMs = sealedSecretRetentionMs(30) }: SealedSecretsDeps): SealedSecrets {
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== 32) throw new Error('dataKey must be a 32-byte Buffer (AES-256)');

  return {
    async seal(secret) {
      if (typeof secret !== 'string' || secret.length === 0) throw new Error('cannot seal an empty secret');
      const ref = `sealed_${crypto.randomBytes(18).toString('base64url')}`;
      // Binding the reference as associated data stops a ciphertext from being replayed under another row.
      const { ciphertext, nonce } = seal(dataKey, ref, Buffer.from(secret, 'utf8'));
      const now = clock();
      await db(table).insert({ ref, ciphertext, nonce, created_at: now });
      // Those past their retention go: their mail was never sent and no longer can be of use.
      await db(table)
        .whereNull('consumed_at')
        .andWhere('created_at', '<', new Date(now.getTime() - retentionMs))
        .update({ ciphertext: null, nonce: null, consumed_at: now });
      return ref;
    },

    async open(ref) {
      const row = await db(table).where({ ref }).first<{ ciphertext: Buffer | null; nonce: Buffer | null } | undefined>();
      if (!row) throw new SealedSecretUnavailable(ref, 'unknown');
      if (!row.ciphertext || !row.nonce) throw new SealedSecretUnavailable(ref, 'wiped');
      return open(dataKey, ref, { ciphertext: Buffer.from(row.ciphertext), nonce: Buffer.from(row.nonce) }).toString('utf8');
    },

    async wipe(ref) {
      await db(table).where({ ref }).whereNull('consumed_at').update({ ciphertext: null, nonce: null, consumed_at: clock() });
    },
  };
}
