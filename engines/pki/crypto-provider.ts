// @peculiar/x509 needs the Reflect metadata polyfill (tsyringe) and signs through Node's native WebCrypto.
import 'reflect-metadata';
import crypto, { type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type CryptoKey = webcrypto.CryptoKey;

export { x509 };

export const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** The CA's private key as a WebCrypto key, for the signatures @peculiar/x509 makes (CA certificate, CRL, EC leaves). */
export async function rsaSigningKey(privateKey: crypto.KeyObject): Promise<CryptoKey> {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return (await crypto.webcrypto.subtle.importKey('pkcs8', der, RSA_SHA256, false, ['sign'])) as CryptoKey;
}

export async function rsaVerifyingKey(publicKey: crypto.KeyObject): Promise<CryptoKey> {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return (await crypto.webcrypto.subtle.importKey('spki', der, RSA_SHA256, true, ['verify'])) as CryptoKey;
}
