// The one-time enrollment password: random from an alphabet that reads unambiguously over the phone, kept only as argon2id.
import crypto from 'node:crypto';
import argon2 from 'argon2';

// No 0/O/o, 1/l/I, 2/Z, 5/S, 8/B: the password is read out by phone and typed from a mail.
const ALPHABET = 'ACDEFGHJKLMNPQRTUVWXYabcdefghijkmnpqrstuvwxyz34679';
const LENGTH = 12;

/** OWASP's argon2id minimum (19 MiB, 2 passes): slow for a guesser, ~20 ms for us. */
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function generateEnrollmentPassword(): string {
  let password = '';
  for (let i = 0; i < LENGTH; i++) password += ALPHABET[crypto.randomInt(ALPHABET.length)];
  return password;
}

export function hashEnrollmentPassword(password: string): Promise<string> {
  return argon2.hash(password, HASH_OPTIONS);
}

/** For the login page: false for a wrong password or a request without one. */
export async function verifyEnrollmentPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (!hash) return false;
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A fresh password and its hash. */
export async function newEnrollmentPassword(): Promise<{ password: string; hash: string }> {
  const password = generateEnrollmentPassword();
  return { password, hash: await hashEnrollmentPassword(password) };
}
