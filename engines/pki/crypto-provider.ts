// @peculiar/x509 needs the Reflect metadata polyfill (tsyringe) and signs through Node's native WebCrypto, except with a
// CA key: that one signs through its CA key store (file or PKCS#11 token), whichever library builds the TBS bytes.
import 'reflect-metadata';
import crypto, { type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export type CryptoKey = webcrypto.CryptoKey;

export { x509 };

export const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** RSASSA-PKCS1-v1_5 with SHA-256 over the bytes given: the one way a CA key signs anything. */
export type CaSign = (data: Buffer) => Promise<Buffer>;

// The stand-in keys handed to @peculiar/x509, each with the CA key store's signing function behind it.
const delegated = new WeakMap<object, CaSign>();

/** A WebCrypto-shaped key for @peculiar/x509 whose signatures are made by `sign` (the CA's key store), never in memory here. */
export function caSigningKey(sign: CaSign): CryptoKey {
  const key = Object.freeze({
    type: 'private',
    extractable: false,
    usages: ['sign'],
    algorithm: { name: RSA_SHA256.name, hash: { name: RSA_SHA256.hash } },
  });
  delegated.set(key, sign);
  return key as unknown as CryptoKey;
}

const subtle = crypto.webcrypto.subtle;
const provider = {
  getRandomValues: <T extends ArrayBufferView>(array: T) => crypto.webcrypto.getRandomValues(array as never) as T,
  randomUUID: () => crypto.randomUUID(),
  subtle: new Proxy(subtle, {
    get(target, property) {
      if (property === 'sign') {
        return async (algorithm: { name: string; hash?: string | { name: string } }, key: CryptoKey, data: ArrayBuffer | ArrayBufferView) => {
          const sign = delegated.get(key);
          if (!sign) return target.sign(algorithm as never, key, data);
          const hash = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash?.name;
          if (algorithm.name !== RSA_SHA256.name || hash !== RSA_SHA256.hash) throw new Error(`a CA key signs ${RSA_SHA256.name} with SHA-256 only, not ${algorithm.name}/${hash}`);
          const bytes = ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data as ArrayBuffer);
          const signature = await sign(bytes);
          return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }),
};
x509.cryptoProvider.set(provider as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export async function rsaVerifyingKey(publicKey: crypto.KeyObject): Promise<CryptoKey> {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return (await crypto.webcrypto.subtle.importKey('spki', der, RSA_SHA256, true, ['verify'])) as CryptoKey;
}
