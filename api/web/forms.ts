// Reading the user's forms: one string per field, within its length, and the 鍵の取得 form's PKCS#12 password rules.
import { Pkcs12PasswordError, PKCS12_PASSWORD_MESSAGES_JA, validatePkcs12Password } from '../../engines/pki';
import { REQUEST_ID } from '../../domain/key-retrieval';
import { HttpError } from '../errors';
import { MESSAGES } from './messages';

const MAX_FIELD_LENGTH = 256;

export interface KeyRetrievalForm {
  requestId: string;
  password: string;
}

/** A field of a urlencoded form as a string; arrays (a repeated field) and missing fields are refused. */
export function formField(body: unknown, name: string, { maxLength = MAX_FIELD_LENGTH } = {}): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw HttpError.badRequest(MESSAGES.badRequest, name);
  if (value.length > maxLength) throw new HttpError(422, 'field_too_long', MESSAGES.fieldTooLong, name);
  return value;
}

/** Reads and checks the 鍵の取得 form (request ID, password typed twice) against the PKCS#12 password policy. */
export function readKeyRetrievalForm(body: unknown, userId: string): KeyRetrievalForm {
  const requestId = (formField(body, 'requestId', { maxLength: 64 }) ?? '').trim();
  if (!REQUEST_ID.test(requestId)) throw new HttpError(422, 'request_id_invalid', MESSAGES.requestIdInvalid, 'requestId');
  const password = formField(body, 'password') ?? '';
  const confirmation = formField(body, 'passwordConfirmation') ?? '';
  if (password === '') throw new HttpError(422, 'password_missing', MESSAGES.passwordMissing, 'password');
  try {
    validatePkcs12Password(password, { userId });
  } catch (err) {
    if (err instanceof Pkcs12PasswordError) throw new HttpError(422, 'password_policy', PKCS12_PASSWORD_MESSAGES_JA[err.problem], 'password');
    throw err;
  }
  if (confirmation !== password) throw new HttpError(422, 'password_mismatch', MESSAGES.passwordMismatch, 'passwordConfirmation');
  return { requestId, password };
}

/** The typed request ID, cut to its length, to fill a form in again after a refusal. */
export function typedRequestId(body: unknown): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.requestId;
  return typeof value === 'string' ? value.slice(0, 15) : undefined;
}
