// Where a CA's private key lives and how it signs: PKCS#8-encrypted in the database (file key store) or inside a
// PKCS#11 token. The database keeps each CA's key reference: the encrypted PEM, or a `pkcs11:` URI naming the token key.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { CaUnavailableError } from './errors';
import type { CaSign } from './crypto-provider';
import { openPkcs11Token, PKCS11_REFERENCE_PREFIX, type Pkcs11Settings, type Pkcs11Token } from './pkcs11';

const generateKeyPair = promisify(crypto.generateKeyPair);

export type CaKeyStoreKind = 'file' | 'pkcs11';

/** A CA key opened for signing. */
export interface CaKey {
  sign: CaSign;
  publicKey: crypto.KeyObject;
}

/** A new CA key: its reference for the database, and `discard` for a process that lost the race to store its CA. */
export interface GeneratedCaKey extends CaKey {
  reference: string;
  discard(): Promise<void>;
}

export interface CaKeyStore {
  readonly kind: CaKeyStoreKind;
  /** A new RSA key of `modulusLength` bits for this generation of the profile's CA (1, then one more per rollover). */
  generate(profile: string, modulusLength: number, generation: number): Promise<GeneratedCaKey>;
  /** Opens the key `reference` names; `source` says where the reference was read, for messages. */
  open(profile: string, reference: string, source: string): Promise<CaKey>;
}

/** Settings of the CA key stores: which one makes each profile's new CA key, and the token when one uses PKCS#11. */
export interface CaKeyStoreSettings {
  /** Profiles not named use the file key store. */
  where: Partial<Record<string, CaKeyStoreKind>>;
  pkcs11?: Pkcs11Settings;
}

/** The CA key PKCS#8-encrypted with CERTFLOW_CA_PASSPHRASE (AES-256-CBC/PBKDF2), as certflow always kept it. */
export function fileCaKeyStore(passphrase: string): CaKeyStore {
  const opened = (privateKey: crypto.KeyObject): CaKey => ({
    // Node's OpenSSL, not WebCrypto: one call, no key import per signature.
    sign: async (data) => crypto.sign('sha256', data, privateKey),
    publicKey: crypto.createPublicKey(privateKey),
  });
  return {
    kind: 'file',
    async generate(_profile, modulusLength) {
      const { privateKey } = await generateKeyPair('rsa', { modulusLength });
      const reference = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }) as string;
      return { ...opened(privateKey), reference, discard: async () => undefined };
    },
    async open(profile, reference, source) {
      try {
        return opened(crypto.createPrivateKey({ key: reference, format: 'pem', passphrase }));
      } catch {
        throw new CaUnavailableError(profile, `CA ${profile}: the key ${source} cannot be decrypted; CERTFLOW_CA_PASSPHRASE is wrong`);
      }
    },
  };
}

/** A token's CA keys: generated inside it (sensitive, not extractable), signing with CKM_SHA256_RSA_PKCS. */
function pkcs11CaKeyStore(token: () => Promise<Pkcs11Token>): CaKeyStore {
  return {
    kind: 'pkcs11',
    async generate(profile, modulusLength, generation) {
      return (await token()).generateKey(profile, modulusLength, generation);
    },
    async open(profile, reference) {
      return (await token()).openKey(profile, reference);
    },
  };
}

/** The key stores of one certificate authority: the file one always (OCSP responder keys, older CAs), the token's when configured. */
export interface CaKeyStores {
  /** The store that makes a new CA key for `profile`. */
  forNew(profile: string): CaKeyStore;
  /** The store a stored key reference belongs to. */
  forReference(profile: string, reference: string): CaKeyStore;
  /** Opens the token when one is configured: a missing token or a wrong PIN stops start-up here, naming it. */
  check(): Promise<void>;
}

export function createCaKeyStores(passphrase: string, settings: CaKeyStoreSettings = { where: {} }): CaKeyStores {
  const file = fileCaKeyStore(passphrase);
  const { pkcs11 } = settings;
  let token: Promise<Pkcs11Token> | undefined;
  const openToken = () => {
    if (!pkcs11) throw new Error('no PKCS#11 token is configured');
    token ??= openPkcs11Token(pkcs11);
    // A failed opening (token not there yet, wrong PIN) is tried again on the next call rather than remembered.
    token.catch(() => (token = undefined));
    return token;
  };
  const hsm = pkcs11CaKeyStore(openToken);
  return {
    forNew(profile) {
      const kind = settings.where[profile] ?? 'file';
      if (kind === 'pkcs11' && !pkcs11) {
        throw new CaUnavailableError(profile, `CA ${profile}: its key is to be made in a PKCS#11 token, but no token is configured (CERTFLOW_PKCS11_TOKEN_LABEL or CERTFLOW_PKCS11_SLOT)`);
      }
      return kind === 'pkcs11' ? hsm : file;
    },
    forReference(profile, reference) {
      if (!reference.startsWith(PKCS11_REFERENCE_PREFIX)) return file;
      if (!pkcs11) {
        throw new CaUnavailableError(profile, `CA ${profile}: its key is in a PKCS#11 token (${reference}), but no token is configured (CERTFLOW_CA_KEY_STORE, CERTFLOW_PKCS11_*)`);
      }
      return hsm;
    },
    async check() {
      if (pkcs11) await openToken();
    },
  };
}
