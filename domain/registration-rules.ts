// What a registration must be, checked with zod: the support API's body and each line of a bulk import use these rules.
import { z } from 'zod';
import { SubjectValidationError, validateSubject } from '../engines/pki';
import { USER_PROFILES } from '../workflows/definitions';

// Control and format characters would make a DN display something other than what it holds.
const DN_VALUE = /^[^\p{Cc}\p{Cf}\p{Cs}]+$/u;
const dnValue = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').regex(DN_VALUE, 'must not contain control characters');

export const USER_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const userIdSchema = z.string().regex(USER_ID, 'must be 1 to 64 letters, digits, dots, underscores or hyphens');
/** The users' profiles: an operator's certificate is managed only through /operators. */
export const profileSchema = z.enum(USER_PROFILES);

export const registrationSchema = z.object({
  userId: userIdSchema,
  profile: profileSchema,
  email: z.email('must be an e-mail address').max(254),
  idAdminEmail: z.email('must be an e-mail address').max(254),
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
