// What a registration must be, checked with zod: the support API's body and each line of a bulk import use these rules.
import { z } from 'zod';
import { EMAIL_ADDRESS, MAX_EMAIL_LENGTH, SUBJECT_NAME, SubjectValidationError, validateSubject } from '../engines/pki';
import { USER_PROFILES } from '../workflows/definitions';

// The PKI engine's own rules for what goes into a certificate, so the document states exactly what registration takes.
const dnValue = z.string().min(1, 'must not be empty').regex(SUBJECT_NAME, 'must be at most 64 characters, without control characters or a space at either end');
export const emailSchema = z.string().max(MAX_EMAIL_LENGTH).regex(EMAIL_ADDRESS, 'must be an ASCII e-mail address');

/**
 * A user ID: 1 to 64 letters, digits, dots, underscores or hyphens, beginning with a letter or a digit — so no ID
 * is `__proto__` or another name JavaScript objects give meaning to, and none starts like an option or a hidden file.
 */
export const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const userIdSchema = z.string().regex(USER_ID, 'must be 1 to 64 letters, digits, dots, underscores or hyphens, beginning with a letter or a digit');
/** The users' profiles: an operator's certificate is managed only through /operators. */
export const profileSchema = z.enum(USER_PROFILES);

export const registrationSchema = z.object({
  userId: userIdSchema,
  profile: profileSchema,
  email: emailSchema,
  idAdminEmail: emailSchema,
  organization: dnValue,
  organizationalUnits: z.array(dnValue).min(1, 'must list at least one unit').max(10, 'must list at most 10 units'),
  subscriberId: dnValue,
});

export type RegistrationInput = z.output<typeof registrationSchema>;

/** A zod issue's path as the API names fields: `organizationalUnits[1]`, `a.b`. */
export function fieldName(path: PropertyKey[]): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${String(part)}` : String(part)), '');
}

export interface FieldError {
  field: string;
  message: string;
}

/**
 * Every problem of a registration, each naming its field: the schema's, then (when the schema passes) the
 * certificate subject's, which registration checks again before it keeps anything.
 */
export function checkRegistration(value: unknown): { registration: RegistrationInput; errors?: undefined } | { errors: FieldError[] } {
  const parsed = registrationSchema.safeParse(value);
  if (!parsed.success) {
    // One reason per field: an empty value also fails the pattern, which says nothing more.
    const errors = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const field = fieldName(issue.path) || 'line';
      if (!errors.has(field)) errors.set(field, issue.message);
    }
    return { errors: [...errors].map(([field, message]) => ({ field, message })) };
  }
  const subject = subjectError(parsed.data);
  return subject ? { errors: [subject] } : { registration: parsed.data };
}

/** What the CA would refuse in the certificate subject this registration makes (the PKI engine's own rules). */
export function subjectError(registration: Omit<RegistrationInput, 'profile' | 'idAdminEmail'>): FieldError | undefined {
  try {
    validateSubject({ ...registration, country: 'JP' });
    return undefined;
  } catch (err) {
    if (err instanceof SubjectValidationError) return { field: err.field, message: err.reason };
    throw err;
  }
}
