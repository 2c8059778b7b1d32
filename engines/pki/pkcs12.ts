// PKCS#12 (PFX) files for the key retrieval page: structures from the @peculiar ASN.1 schemas, cryptography native
// where Node offers it (PBES2 key encryption, HMAC) and node-forge for what it does not (the RFC 7292 KDF, 3DES PBE).
import crypto from 'node:crypto';
import forge from 'node-forge';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo, id_data } from '@peculiar/asn1-cms';
import {
  AuthenticatedSafe,
  CertBag,
  id_certBag,
  id_pkcs8ShroudedKeyBag,
  id_x509Certificate,
  MacData,
  PFX,
  PKCS12Attribute,
  SafeBag,
  SafeContents,
} from '@peculiar/asn1-pfx';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { DigestInfo } from '@peculiar/asn1-rsa';
import type { Pkcs12Encryption } from './profiles';

const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
const MAC_DIGESTS = {
  modern: { node: 'sha256', oid: '2.16.840.1.101.3.4.2.1', forge: () => forge.md.sha256.create(), length: 32 },
  legacy: { node: 'sha1', oid: '1.3.14.3.2.26', forge: () => forge.md.sha1.create(), length: 20 },
} as const;

export interface Pkcs12Contents {
  privateKey: crypto.KeyObject;
  certificateDer: Buffer;
  /** Issuing CA certificates, nearest first. */
  chainDer: Buffer[];
  friendlyName: string;
  password: string;
  encryption: Pkcs12Encryption;
  iterations: number;
}

export function buildPkcs12(contents: Pkcs12Contents): Buffer {
  const { password, encryption, iterations } = contents;
  // OpenSSL, Windows and NSS pair key and certificate by this attribute: the SHA-1 of the certificate.
  const localKeyId = crypto.createHash('sha1').update(contents.certificateDer).digest();
  const userAttributes = [
    attribute(OID_LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(localKeyId))),
    attribute(OID_FRIENDLY_NAME, bmpString(contents.friendlyName)),
  ];
  const certificateBags = [contents.certificateDer, ...contents.chainDer].map(
    (der, i) =>
      new SafeBag({
        bagId: id_certBag,
        bagValue: AsnConvert.serialize(
          new CertBag({ certId: id_x509Certificate, certValue: AsnConvert.serialize(new OctetString(der)) }),
        ),
        bagAttributes: i === 0 ? userAttributes : undefined,
      }),
  );
  const keyBag = new SafeBag({
    bagId: id_pkcs8ShroudedKeyBag,
    bagValue: toArrayBuffer(encryptPrivateKey(contents.privateKey, password, encryption, iterations)),
    bagAttributes: userAttributes,
  });
  const authenticatedSafe = Buffer.from(
    AsnConvert.serialize(new AuthenticatedSafe([dataContent(new SafeContents(certificateBags)), dataContent(new SafeContents([keyBag]))])),
  );

  const digest = MAC_DIGESTS[encryption];
  const macSalt = crypto.randomBytes(16);
  const macKey = pkcs12Kdf(password, macSalt, 3, iterations, digest.length, digest.forge());
  const mac = crypto.createHmac(digest.node, macKey).update(authenticatedSafe).digest();
  const pfx = new PFX({
    version: 3,
    authSafe: new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(authenticatedSafe)) }),
    macData: new MacData({
      mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: digest.oid, parameters: null }), digest: new OctetString(mac) }),
      macSalt: new OctetString(macSalt),
      iterations,
    }),
  });
  return Buffer.from(AsnConvert.serialize(pfx));
}

/** EncryptedPrivateKeyInfo DER. */
function encryptPrivateKey(privateKey: crypto.KeyObject, password: string, encryption: Pkcs12Encryption, iterations: number): Buffer {
  if (encryption === 'modern') {
    // OpenSSL's own PBES2: AES-256-CBC, PBKDF2-HMAC-SHA256, 2048 iterations (its PKCS#12 default), in native code.
    return privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: password });
  }
  const privateKeyInfo = forge.asn1.fromDer(privateKey.export({ format: 'der', type: 'pkcs8' }).toString('binary'));
  const encrypted = forge.pki.encryptPrivateKeyInfo(privateKeyInfo, password, { algorithm: '3des', count: iterations, saltSize: 8 });
  return Buffer.from(forge.asn1.toDer(encrypted).getBytes(), 'binary');
}

/** RFC 7292 Appendix B.2 (ID 3: MAC key), from node-forge; Node has no binding for it. */
function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, length: number, md: forge.md.MessageDigest): Buffer {
  const key = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt.toString('binary')), id, iterations, length, md);
  return Buffer.from(key.getBytes(), 'binary');
}

function attribute(attrId: string, value: ArrayBuffer): PKCS12Attribute {
  // Assigned after construction: asn1-pfx 2.11.1's PKCS12Attribute constructor drops its parameters.
  return Object.assign(new PKCS12Attribute(), { attrId, attrValues: [value] });
}

function bmpString(text: string): ArrayBuffer {
  const der = forge.asn1.toDer(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BMPSTRING, false, text));
  return toArrayBuffer(Buffer.from(der.getBytes(), 'binary'));
}

function dataContent(safeContents: SafeContents): ContentInfo {
  return new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(AsnConvert.serialize(safeContents))) });
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}
