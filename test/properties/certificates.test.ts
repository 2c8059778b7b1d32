// The certificates certflow reads from outside: a PEM text or DER file pasted into the support API's diagnosis
// (domain/diagnose-certificate.ts), and the certificate a browser presents on the TLS listener (domain/client-
// certificate.ts). Any bytes or text, and any corruption of a real certificate, give a verdict or a Refusal, never
// another exception; a certificate read back from its PEM (in any surrounding text) or DER is the same certificate.
import crypto, { type webcrypto } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import fc from 'fast-check';
import { x509, RSA_SHA256 } from '../../engines/pki/crypto-provider';
import { createClientCertificateCheck } from '../../domain/client-certificate';
import { diagnoseCertificate, parseCertificate } from '../../domain/diagnose-certificate';
import { Refusal } from '../../domain/refusal';
import { hostileString } from './arbitraries';

const NOW = new Date('2026-11-26T00:00:00Z');
const SERIAL = '0a1b2c3d4e5f';
const RSA = { ...RSA_SHA256, publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

let caPem: string;
let der: Buffer;
let subjectWindow: [number, number];

beforeAll(async () => {
  const caKeys = (await crypto.webcrypto.subtle.generateKey(RSA, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await crypto.webcrypto.subtle.generateKey(RSA, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') };
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=kdanshinnet test CA, O=certflow, C=JP', keys: caKeys, signingAlgorithm: RSA_SHA256, ...validity,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: SERIAL, subject: 'C=JP, O=第一生命保険株式会社, OU=div1, OU=div1-1, CN=emp001', issuer: ca.subject,
    publicKey: leafKeys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: RSA_SHA256, ...validity,
  });
  caPem = ca.toString('pem');
  der = Buffer.from(leaf.rawData);
  // The subject's bytes, where a corruption reaches the name parsers rather than breaking the outer structure.
  const start = der.indexOf(Buffer.from('第一生命', 'utf8'));
  subjectWindow = [start - 40, der.indexOf(Buffer.from('emp001')) + 6];
});

/** The CA's records as diagnose and the TLS gate read them: the test certificate is good, any other serial unknown. */
const ca = {
  caCertificatePem: async () => caPem,
  // One CA generation (no rollover): the one that signed the test certificate.
  caGenerations: async () => [{ generation: 1, current: true, certificatePem: caPem }],
  status: async (serial: string) =>
    serial === SERIAL
      ? { status: 'good' as const, serial, profile: 'kdanshinnet' as const, userId: 'emp001', requestId: '202611260000001', caGeneration: 1, notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') }
      : { status: 'unknown' as const, serial },
};
const deps = { stores: { requests: { find: async () => undefined } }, ca, clock: () => NOW } as unknown as Parameters<typeof diagnoseCertificate>[0];

/** The test certificate with some bytes changed (anywhere, or inside its subject), cut short, or with bytes inserted. */
const corrupted = () =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((changes) => {
      const bytes = Buffer.from(der);
      for (const [at, value] of changes) bytes[at % bytes.length] = value;
      return bytes;
    }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((changes) => {
      const bytes = Buffer.from(der);
      const [from, to] = subjectWindow;
      for (const [at, value] of changes) bytes[from + (at % (to - from))] = value;
      return bytes;
    }),
    fc.nat().map((n) => der.subarray(0, n % der.length)),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, extra]) => Buffer.concat([der.subarray(0, at % der.length), extra, der.subarray(at % der.length)])),
  );
/**
 * The first corruption fast-check found: the outer signature algorithm's NULL parameter (05 00) turned into tag 0x38.
 * OpenSSL still reads the certificate; @peculiar/x509 throws on it, which made the diagnosis (and would have made the
 * TLS gate, reading a forged certificate's names) answer 500.
 */
function foundFirst(): Buffer {
  const bytes = Buffer.from(der);
  bytes[bytes.lastIndexOf(Buffer.from([0x01, 0x01, 0x0b, 0x05, 0x00])) + 3] = 0x38;
  return bytes;
}
const asPem = (bytes: Buffer) => `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
const invalid = (err: unknown) => err instanceof Refusal && err.code === 'invalid' && err.detail.field === 'certificate';

/** Resolves to the value, or to undefined after a clear refusal; any other rejection fails the property. */
async function verdictOrRefusal<T>(attempt: Promise<T>, isClearRefusal: (err: unknown) => boolean): Promise<T | undefined> {
  try {
    return await attempt;
  } catch (err) {
    if (!isClearRefusal(err)) throw new Error(`not a clear refusal: ${String((err as Error)?.stack ?? err)}`);
    return undefined;
  }
}

describe('a pasted or uploaded certificate (diagnose)', () => {
  test('when any text or bytes are given, then parseCertificate gives a certificate or refuses the field certificate', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)), hostileString.map((s) => `-----BEGIN CERTIFICATE-----${s}-----END CERTIFICATE-----`)), (input) => {
        try {
          expect(parseCertificate(input)).toBeInstanceOf(crypto.X509Certificate);
        } catch (err) {
          if (!invalid(err)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('when a real certificate is corrupted, as DER or as PEM, then diagnoseCertificate gives a diagnosis or refuses the field certificate', async () => {
    await fc.assert(
      fc.asyncProperty(corrupted(), fc.boolean(), async (bytes, pem) => {
        const diagnosis = await verdictOrRefusal(diagnoseCertificate(deps, pem ? asPem(bytes) : bytes), invalid);
        if (diagnosis) expect(typeof diagnosis.verdict.reason).toBe('string');
      }),
      { numRuns: 1500, examples: [[foundFirst(), false], [foundFirst(), true]] },
    );
  });

  test('when the certificate is pasted as PEM inside any text, or uploaded as DER, then it is read back as the same certificate', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString.filter((s) => !s.includes('-----')), hostileString.filter((s) => !s.includes('-----')), fc.boolean(), async (before, after, pem) => {
        const certificate = parseCertificate(pem ? `${before}${asPem(der)}${after}` : der);
        expect(Buffer.from(certificate.raw).equals(der)).toBe(true);
        const diagnosis = await diagnoseCertificate(deps, pem ? `${before}${asPem(der)}${after}` : der);
        expect(diagnosis).toMatchObject({ serial: SERIAL, issuedBy: { profile: 'kdanshinnet' }, verdict: { admitted: true } });
        expect(diagnosis.subject).toContain('O=第一生命保険株式会社');
      }),
      { numRuns: 200 },
    );
  });
});

// The gate's purpose never reads previous CAs or imported certificates: no stores are needed for it.
const GATE_ONLY = { previousCas: {} as never, stores: {} as never, certificates: {} as never };

describe('a certificate presented on the TLS listener', () => {
  test('when the browser presents any corruption of a certificate that still parses, then the gate gives a verdict, never an exception', async () => {
    const check = createClientCertificateCheck({ ca: ca as never, clock: () => NOW, ...GATE_ONLY });
    await fc.assert(
      fc.asyncProperty(corrupted(), async (bytes) => {
        let presented: crypto.X509Certificate;
        try {
          presented = new crypto.X509Certificate(bytes);
        } catch {
          return; // OpenSSL refuses it during the handshake: the gate never sees it.
        }
        const socket = { getPeerX509Certificate: () => presented } as unknown as TLSSocket;
        const verdict = await check(socket, 'kdanshinnet', 'gate');
        expect(typeof verdict.ok).toBe('boolean');
      }),
      { numRuns: 1500, examples: [[foundFirst()]] },
    );
  });

  test('when the real certificate is presented, then the gate admits it with its names read back', async () => {
    const check = createClientCertificateCheck({ ca: ca as never, clock: () => NOW, ...GATE_ONLY });
    const socket = { getPeerX509Certificate: () => new crypto.X509Certificate(der) } as unknown as TLSSocket;
    expect(await check(socket, 'kdanshinnet', 'gate')).toMatchObject({
      ok: true,
      certificate: { serial: SERIAL, userId: 'emp001', commonName: 'emp001', organization: '第一生命保険株式会社', organizationalUnits: ['div1-1', 'div1'], country: 'JP' },
    });
  });
});
