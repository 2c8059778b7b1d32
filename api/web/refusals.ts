// The domain's refusals as the user's pages say them: a status and a Japanese message per code.
import { Refusal, type RefusalCode } from '../../domain';
import { HttpError, toHttpError } from '../errors';
import { MESSAGES, REFUSALS_JA, RENEWAL_MESSAGES } from './messages';

type Answer = [status: number, code: string, message: string | ((refusal: Refusal) => string)];

const RENEWAL_REFUSED = 'renewal_refused';
const UNAVAILABLE: Answer = [503, 'temporarily_unavailable', MESSAGES.temporarilyUnavailable];

const PAGE_ANSWERS: Record<RefusalCode, Answer> = {
  requestExpired: [409, 'request_expired', MESSAGES.requestExpired],
  keyAlreadyRetrieved: [409, 'key_already_retrieved', MESSAGES.keyAlreadyRetrieved],
  requestWithdrawn: [409, 'request_withdrawn', MESSAGES.requestWithdrawn],
  requestEnded: [409, 'request_withdrawn', MESSAGES.requestWithdrawn],
  requestUnknown: [422, 'request_id_invalid', MESSAGES.requestIdInvalid],
  nothingToDownload: [409, 'nothing_to_download', MESSAGES.nothingToDownload],
  downloadDeadlinePassed: [410, 'download_deadline_passed', MESSAGES.downloadDeadlinePassed],
  certificateNotIssued: [409, 'certificate_not_issued', MESSAGES.certificateNotIssued],
  certificateRevoked: [409, 'certificate_revoked', MESSAGES.certificateRevoked],
  notRetrievedYet: [409, RENEWAL_REFUSED, RENEWAL_MESSAGES.notRetrievedYet],
  alreadyRenewed: [409, RENEWAL_REFUSED, RENEWAL_MESSAGES.alreadyRenewed],
  renewalNotOpen: [409, RENEWAL_REFUSED, (r) => RENEWAL_MESSAGES.notOpenYet(r.detail.windowDays ?? 30, r.detail.opensAt ?? new Date())],
  certificateExpired: [409, RENEWAL_REFUSED, REFUSALS_JA.expired],
  invalid: [400, 'bad_request', MESSAGES.badRequest],
  forbidden: [403, 'forbidden', MESSAGES.badRequest],
  notFound: [404, 'not_found', MESSAGES.notFound],
  duplicate: UNAVAILABLE,
  conflict: UNAVAILABLE,
  unavailable: UNAVAILABLE,
};

/** On the renewal pages a revoked certificate is the presented one, and a request ID not of its renewals does not exist. */
export const RENEWAL_ANSWERS: Partial<Record<RefusalCode, Answer>> = {
  certificateRevoked: [409, RENEWAL_REFUSED, REFUSALS_JA.revoked],
  requestUnknown: [404, 'request_id_invalid', MESSAGES.requestIdInvalid],
};

/** Any error as the page's answer: a refusal in the user's words, other errors by their status (never a stack trace). */
export function pageError(err: unknown, overrides: Partial<Record<RefusalCode, Answer>> = {}): HttpError {
  if (!(err instanceof Refusal)) return toHttpError(err);
  const [status, code, message] = overrides[err.code] ?? PAGE_ANSWERS[err.code];
  return new HttpError(status, code, typeof message === 'function' ? message(err) : message, err.detail.field);
}
