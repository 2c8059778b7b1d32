// Looking for secrets in stored bytes (database files, histories, logs) in every form they could be stored in.
import fs from 'node:fs';

/** The forms a secret could take in stored bytes: as text or raw bytes, base64 and hex. */
export function secretForms(secret: string | Buffer): Buffer[] {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return [bytes, Buffer.from(bytes.toString('base64')), Buffer.from(bytes.toString('hex'))];
}

/**
 * Pieces of every form of a PKCS#12, from its last third: a long value stored in clear can be split over database pages,
 * so its whole forms are not enough. That third is its encrypted key and MAC, found nowhere else (the head holds the
 * public certificates, which the database does keep).
 */
export function pkcs12Pieces(pkcs12: Buffer, size = 48): Buffer[] {
  return secretForms(pkcs12).flatMap((form) => {
    const pieces: Buffer[] = [];
    for (let start = Math.floor((form.length * 2) / 3); start + size <= form.length; start += size) pieces.push(form.subarray(start, start + size));
    return pieces;
  });
}

/** Whether any of the pieces is in the bytes. */
export function holdsAny(bytes: Buffer, pieces: Buffer[]): boolean {
  return pieces.some((piece) => bytes.includes(piece));
}

/** A SQLite database as it is on disk: the main file and its write-ahead log. */
export function sqliteBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}
