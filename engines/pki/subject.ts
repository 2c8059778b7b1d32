// Validation of what goes into a certificate and of the PKCS#12 password, shared by the engine and the web pages.
import { Pkcs12PasswordError, SubjectValidationError } from './errors';

export interface SubjectInput {
  userId: string;
  /** Most specific first, as on the manual's renewal screen: div1-1-1, div1-1, div1. */
  organizationalUnits: string[];
  organization: string;
  country: string;
  email: string;
  subscriberId: string;
}

/** RFC 5280 upper bounds (ub-common-name, ub-organizational-unit-name, ub-organization-name) are 64. */
const MAX_NAME_LENGTH = 64;
const MAX_ORGANIZATIONAL_UNITS = 10;
export const MAX_EMAIL_LENGTH = 254;
// Control (Cc) and format (Cf, e.g. bidi overrides) characters would make a DN display something else. Spelled out
// rather than \p{Cc}\p{Cf} so that the patterns below are Python regular expressions too (schemathesis generates
// values from the OpenAPI document's patterns); the astral ones as the characters themselves, since `\u{…}` is not
// Python and `\U…` not JavaScript. test/properties/subject.test.ts checks the list against \p{Cc}\p{Cf}.
export const CONTROL_OR_FORMAT =
  String.raw`\u0000-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb` +
  '\u{110bd}\u{110cd}\u{13430}-\u{1343f}\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}';
/** What String.prototype.trim removes besides the control and format characters: the spaces and line separators. */
export const TRIMMED_SPACES = String.raw` \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
// Lone surrogates (Cs) are no characters at all; a JSON string can still carry one.
const FORBIDDEN_CHARACTERS = new RegExp(`[${CONTROL_OR_FORMAT}]|\\p{Cs}`, 'u');
/**
 * A DN value (CN, O, OU, subscriber ID): 1 to 64 characters, no control or format character, no space at either
 * end (lone surrogates are refused besides). The support API's schema is this pattern, so its document says it.
 */
export const SUBJECT_NAME = new RegExp(
  `^[^${TRIMMED_SPACES}${CONTROL_OR_FORMAT}](?:[^${CONTROL_OR_FORMAT}]{0,${MAX_NAME_LENGTH - 2}}[^${TRIMMED_SPACES}${CONTROL_OR_FORMAT}])?$`,
  'u',
);
/** rfc822Name is an IA5String: an ASCII address with a dotted domain (at most MAX_EMAIL_LENGTH characters). */
export const EMAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new SubjectValidationError(field, 'is empty');
  if (FORBIDDEN_CHARACTERS.test(value)) throw new SubjectValidationError(field, 'contains control characters');
  if (!SUBJECT_NAME.test(value)) {
    throw new SubjectValidationError(field, value.trim() !== value ? 'has leading or trailing spaces' : `is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

function checkEmail(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new SubjectValidationError(field, 'is empty');
  if (value.length > MAX_EMAIL_LENGTH) throw new SubjectValidationError(field, `is longer than ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL_ADDRESS.test(value)) throw new SubjectValidationError(field, 'is not an ASCII e-mail address');
  return value;
}

/** Throws SubjectValidationError naming the first bad field; returns the subject unchanged when it is fine. */
export function validateSubject(subject: SubjectInput): SubjectInput {
  checkName('userId', subject.userId);
  if (!Array.isArray(subject.organizationalUnits)) throw new SubjectValidationError('organizationalUnits', 'must be a list');
  if (subject.organizationalUnits.length > MAX_ORGANIZATIONAL_UNITS) {
    throw new SubjectValidationError('organizationalUnits', `has more than ${MAX_ORGANIZATIONAL_UNITS} entries`);
  }
  subject.organizationalUnits.forEach((ou, i) => checkName(`organizationalUnits[${i}]`, ou));
  checkName('organization', subject.organization);
  if (typeof subject.country !== 'string' || !/^[A-Z]{2}$/.test(subject.country)) {
    throw new SubjectValidationError('country', 'must be two capital letters (ISO 3166), e.g. JP');
  }
  checkEmail('email', subject.email);
  checkName('subscriberId', subject.subscriberId);
  return subject;
}

/** The subject as relative distinguished names in ASN.1 order (C first, CN last), so the least specific OU comes first. */
export function subjectRdns(subject: SubjectInput): Array<{ type: 'C' | 'O' | 'OU' | 'CN'; value: string }> {
  return [
    { type: 'C', value: subject.country },
    { type: 'O', value: subject.organization },
    ...[...subject.organizationalUnits].reverse().map((value) => ({ type: 'OU' as const, value })),
    { type: 'CN', value: subject.userId },
  ];
}

/** RFC 4514 form as the manual lists it: CN first, most specific OU first. */
export function subjectString(subject: SubjectInput): string {
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
  return subjectRdns(subject)
    .reverse()
    .map((rdn) => `${rdn.type}=${escape(rdn.value)}`)
    .join(', ');
}

export const PKCS12_PASSWORD_MIN_LENGTH = 8;
export const PKCS12_PASSWORD_MAX_LENGTH = 128;

/** Japanese wording for the key retrieval page (鍵の取得), one per problem. */
export const PKCS12_PASSWORD_MESSAGES_JA = {
  tooShort: `パスワードは${PKCS12_PASSWORD_MIN_LENGTH}文字以上で入力してください。`,
  tooLong: `パスワードは${PKCS12_PASSWORD_MAX_LENGTH}文字以内で入力してください。`,
  notPrintableAscii: 'パスワードには半角英数字と記号のみ使用できます。',
  equalsUserId: 'ユーザーIDと同じパスワードは使用できません。',
} as const;

/**
 * Throws Pkcs12PasswordError when the password breaks the policy: at least 8 characters, at most 128,
 * printable ASCII only (Windows and OpenSSL encode other characters differently, so the file would not open), and
 * not the user ID (ignoring case).
 */
export function validatePkcs12Password(password: string, { userId }: { userId: string }): void {
  if (typeof password !== 'string' || password.length < PKCS12_PASSWORD_MIN_LENGTH) {
    throw new Pkcs12PasswordError('tooShort', `the PKCS#12 password must be at least ${PKCS12_PASSWORD_MIN_LENGTH} characters`);
  }
  if (password.length > PKCS12_PASSWORD_MAX_LENGTH) {
    throw new Pkcs12PasswordError('tooLong', `the PKCS#12 password must be at most ${PKCS12_PASSWORD_MAX_LENGTH} characters`);
  }
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw new Pkcs12PasswordError('notPrintableAscii', 'the PKCS#12 password may contain only printable ASCII characters');
  }
  if (password.toLowerCase() === userId.toLowerCase()) {
    throw new Pkcs12PasswordError('equalsUserId', 'the PKCS#12 password must not be the user ID');
  }
}
