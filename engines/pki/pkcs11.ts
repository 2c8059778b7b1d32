// CA keys inside a PKCS#11 token (graphene-pk11 over pkcs11js): generated there, sensitive and not extractable, and
// used only through C_Sign with CKM_SHA256_RSA_PKCS. Tested on SoftHSM2; any PKCS#11 v2.20+ module loads the same way.
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as graphene from 'graphene-pk11';
import { CaUnavailableError } from './errors';
import type { CaSign } from './crypto-provider';

/** Debian's SoftHSM2 module (package softhsm2), the default of CERTFLOW_PKCS11_MODULE. */
export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** How a stored CA names a key in the token (RFC 7512 URI); anything else in that column is an encrypted PEM. */
export const PKCS11_REFERENCE_PREFIX = 'pkcs11:';

export interface Pkcs11Settings {
  /** Path of the PKCS#11 module (shared library). */
  module: string;
  /** The token by its label, or by the ID of the slot that holds it. */
  token: { label: string } | { slot: number };
  /** The user PIN (from CERTFLOW_PKCS11_PIN or the file CERTFLOW_PKCS11_PIN_FILE names). */
  pin: string;
}

/** A logged-in token of the CA keys. */
export interface Pkcs11Token {
  /** What start-up messages call it: `token "label"` or `slot N`, and the module. */
  readonly name: string;
  /** Labelled `certflow-ca-<profile>` for generation 1 and `certflow-ca-<profile>-g<n>` after a rollover; opened by its ID. */
  generateKey(profile: string, modulusLength: number, generation: number): Promise<{ sign: CaSign; publicKey: crypto.KeyObject; reference: string; discard(): Promise<void> }>;
  openKey(profile: string, reference: string): Promise<{ sign: CaSign; publicKey: crypto.KeyObject }>;
}

/** Sessions signing side by side: a session runs one operation at a time, a token several sessions at once. */
const SESSIONS = 4;
const CKF_OS_LOCKING_OK = 2;

// One loaded module per library path and process: C_Initialize is once per process.
const modules = new Map<string, graphene.Module>();

function returnCode(error: unknown): string {
  return /CKR_[A-Z_]+/.exec(error instanceof Error ? error.message : String(error))?.[0] ?? (error instanceof Error ? error.message : String(error));
}

function loadModule(path: string): graphene.Module {
  let loaded = modules.get(path);
  if (!loaded) {
    if (!fs.existsSync(path)) throw new CaUnavailableError('*', `PKCS#11 module ${path} (CERTFLOW_PKCS11_MODULE) does not exist`);
    try {
      loaded = graphene.Module.load(path, 'certflow');
      loaded.initialize({ flags: CKF_OS_LOCKING_OK });
    } catch (error) {
      throw new CaUnavailableError('*', `PKCS#11 module ${path} (CERTFLOW_PKCS11_MODULE) cannot be loaded: ${returnCode(error)}`);
    }
    modules.set(path, loaded);
  }
  return loaded;
}

/** The slot ID as the module reports it (softhsm2-util --show-slots, pkcs11-tool -L). */
function slotId(slot: graphene.Slot): number {
  return Number(Buffer.from(slot.handle).readBigUInt64LE());
}

function tokenLabel(slot: graphene.Slot): string {
  return slot.getToken().label.trim();
}

function findSlot(module: graphene.Module, settings: Pkcs11Settings, name: string): graphene.Slot {
  const slots = module.getSlots(true);
  const present: graphene.Slot[] = [];
  for (let i = 0; i < slots.length; i++) present.push(slots.items(i));
  const { token } = settings;
  const slot = present.find((s) => ('label' in token ? tokenLabel(s) === token.label : slotId(s) === token.slot));
  if (!slot) {
    const seen = present.map((s) => `"${tokenLabel(s)}" in slot ${slotId(s)}`).join(', ') || 'none';
    throw new CaUnavailableError('*', `PKCS#11 ${name} is not present (tokens seen: ${seen})`);
  }
  return slot;
}

/** `pkcs11:object=<label>;id=%ab%cd…;type=private` (RFC 7512). */
function referenceOf(label: string, id: Buffer): string {
  return `${PKCS11_REFERENCE_PREFIX}object=${encodeURIComponent(label)};id=${[...id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')};type=private`;
}

function idOf(reference: string): Buffer | undefined {
  const id = /(?:^pkcs11:|;)id=((?:%[0-9a-f]{2})+)(?:;|$)/i.exec(reference)?.[1];
  return id ? Buffer.from(id.replace(/%/g, ''), 'hex') : undefined;
}

/** Opens the token the settings name and logs in; a missing module or token, or a wrong PIN, is a CaUnavailableError naming it. */
export async function openPkcs11Token(settings: Pkcs11Settings): Promise<Pkcs11Token> {
  const name = `${'label' in settings.token ? `token "${settings.token.label}"` : `slot ${settings.token.slot}`} (module ${settings.module})`;
  const module = loadModule(settings.module);
  const slot = findSlot(module, settings, name);
  const sessions: Array<{ session: graphene.Session; queue: Promise<unknown> }> = [];
  for (let i = 0; i < SESSIONS; i++) sessions.push({ session: slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION), queue: Promise.resolve() });
  const first = sessions[0]!.session;
  try {
    first.login(settings.pin, graphene.UserType.USER);
  } catch (error) {
    const code = returnCode(error);
    // Login is per process and token: another opening of the same token in this process already did it.
    if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
      for (const { session } of sessions) session.close();
      const why = code === 'CKR_PIN_INCORRECT' ? 'the PIN is wrong' : code === 'CKR_PIN_LOCKED' ? 'the PIN is locked' : 'login failed';
      throw new CaUnavailableError('*', `PKCS#11 ${name}: ${why} (${code}; CERTFLOW_PKCS11_PIN or CERTFLOW_PKCS11_PIN_FILE)`);
    }
  }
  let next = 0;

  /** Runs `operation` on the next session once that session's previous operation is done. */
  function onSession<T>(operation: (session: graphene.Session) => Promise<T>): Promise<T> {
    const entry = sessions[next++ % SESSIONS]!;
    const run = entry.queue.then(() => operation(entry.session));
    entry.queue = run.catch(() => undefined);
    return run;
  }

  function signer(privateKey: graphene.PrivateKey): CaSign {
    return (data) =>
      onSession(
        (session) =>
          new Promise<Buffer>((resolve, reject) =>
            session.createSign('SHA256_RSA_PKCS', privateKey).once(data, (error, signature) => (error ? reject(error) : resolve(signature))),
          ),
      );
  }

  function publicKeyOf(modulus: Buffer, exponent: Buffer): crypto.KeyObject {
    return crypto.createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') }, format: 'jwk' });
  }

  return {
    name,
    async generateKey(profile, modulusLength, generation) {
      const label = generation === 1 ? `certflow-ca-${profile}` : `certflow-ca-${profile}-g${generation}`;
      const id = crypto.randomBytes(16);
      const pair = await new Promise<graphene.IKeyPair>((resolve, reject) =>
        first.generateKeyPair(
          graphene.KeyGenMechanism.RSA,
          { keyType: graphene.KeyType.RSA, token: true, private: false, verify: true, label, id, modulusBits: modulusLength, publicExponent: Buffer.from([1, 0, 1]) },
          // The key is made inside the token and can never be read or wrapped out of it.
          { keyType: graphene.KeyType.RSA, token: true, private: true, sensitive: true, extractable: false, sign: true, label, id },
          (error, keys) => (error ? reject(error) : resolve(keys!)),
        ),
      ).catch((error: unknown) => {
        throw new CaUnavailableError(profile, `CA ${profile}: PKCS#11 ${name} cannot generate a key: ${returnCode(error)}`);
      });
      const privateKey = pair.privateKey.toType<graphene.PrivateKey>();
      const publicKey = pair.publicKey.toType<graphene.PublicKey>();
      const attributes = publicKey.getAttribute({ modulus: null, publicExponent: null }) as { modulus: Buffer; publicExponent: Buffer };
      return {
        sign: signer(privateKey),
        publicKey: publicKeyOf(attributes.modulus, attributes.publicExponent),
        reference: referenceOf(label, id),
        async discard() {
          first.destroy(pair.privateKey);
          first.destroy(pair.publicKey);
        },
      };
    },
    async openKey(profile, reference) {
      const id = idOf(reference);
      if (!id) throw new CaUnavailableError(profile, `CA ${profile}: ${reference} names no key ID`);
      const found = first.find({ class: graphene.ObjectClass.PRIVATE_KEY, id });
      if (found.length !== 1) throw new CaUnavailableError(profile, `CA ${profile}: PKCS#11 ${name} has ${found.length ? 'several keys' : 'no key'} ${reference}`);
      const privateKey = found.items(0).toType<graphene.PrivateKey>();
      const publics = first.find({ class: graphene.ObjectClass.PUBLIC_KEY, id });
      if (publics.length !== 1) throw new CaUnavailableError(profile, `CA ${profile}: PKCS#11 ${name} has no public key beside ${reference}`);
      const attributes = publics.items(0).toType<graphene.PublicKey>().getAttribute({ modulus: null, publicExponent: null }) as { modulus: Buffer; publicExponent: Buffer };
      return { sign: signer(privateKey), publicKey: publicKeyOf(attributes.modulus, attributes.publicExponent) };
    },
  };
}
