// Errors of the PKI engine: each carries an HTTP status and a stable code; all are permanent (retrying cannot help).
export type PkiErrorCode =
  | 'subjectInvalid'
  | 'issuanceInvalid'
  | 'pkcs12PasswordInvalid'
  | 'issuanceUnknown'
  | 'serialUnknown'
  | 'keyDestroyed'
  | 'certificateRevoked'
  | 'userMismatch'
  | 'profileUnknown'
  | 'caUnavailable'
  | 'certificateInvalid'
  | 'previousCaInvalid'
  | 'previousCaUnknown'
  | 'crlInvalid'
  | 'rolloverConflict';

export class PkiError extends Error {
  /** Activities wrap a PkiError in ApplicationFailure.nonRetryable: the same input fails the same way. */
  readonly permanent = true;

  constructor(
    readonly code: PkiErrorCode,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'PkiError';
  }
}

export type SubjectField = 'userId' | 'organizationalUnits' | 'organization' | 'country' | 'email' | 'subscriberId';

export class SubjectValidationError extends PkiError {
  constructor(
    /** The offending field; for an OU, `organizationalUnits[i]`. */
    readonly field: string,
    readonly reason: string,
  ) {
    super('subjectInvalid', `subject field ${field}: ${reason}`, 422);
    this.name = 'SubjectValidationError';
  }
}

export type Pkcs12PasswordProblem = 'tooShort' | 'tooLong' | 'notPrintableAscii' | 'equalsUserId';

export class Pkcs12PasswordError extends PkiError {
  constructor(readonly problem: Pkcs12PasswordProblem, message: string) {
    super('pkcs12PasswordInvalid', message, 422);
    this.name = 'Pkcs12PasswordError';
  }
}

/** A CA that cannot be used: missing files, or a key the configured passphrase does not open. Start-up prints it. */
export class CaUnavailableError extends PkiError {
  constructor(readonly profile: string, message: string) {
    super('caUnavailable', message, 503);
    this.name = 'CaUnavailableError';
  }
}
