// Bulk registration: a CSV line per user, checked with the registration API's rules and registered by its use case.
import type { FieldProblem } from '../stores';
import type { ImportKindRules } from './import-kind';
import { Refusal } from './refusal';
import { registerUser, type Registration } from './register-user';
import { checkRegistration, registrationSchema } from './registration-rules';

/** The header line of a users file (the API's registration fields). */
export const USER_IMPORT_COLUMNS = ['userId', 'profile', 'email', 'idAdminEmail', 'organization', 'organizationalUnits', 'subscriberId'] as const;
/** organizationalUnits holds several units, most specific first, separated by this character: `div1-1-1;div1-1;div1`. */
export const ORGANIZATIONAL_UNIT_SEPARATOR = ';';

const keyOf = (r: Pick<Registration, 'userId' | 'profile'>) => `${r.userId}\u0000${r.profile}`;

/** How a line names its user in a report: `emp002 (kdanshinnet)`; absent without a user ID. */
export const lineLabel = (fields: Record<string, string>) => (fields.userId ? `${fields.userId}${fields.profile ? ` (${fields.profile})` : ''}` : undefined);

/** What every kind that registers a user per line shares: one line per user and profile, refused when already registered. */
export const perUserRules: Pick<ImportKindRules<Pick<Registration, 'userId' | 'profile'>>, 'key' | 'registeredAlready' | 'registeredAlreadyError'> = {
  key: keyOf,

  async registeredAlready(deps, lines) {
    const users = await deps.stores.users.findMany([...new Set(lines.map((l) => l.userId))]);
    return new Set(users.map(keyOf));
  },

  registeredAlreadyError(line): FieldProblem {
    return { field: 'userId', message: `is already registered for profile ${line.profile}` };
  },
};

export const userImportRules: ImportKindRules<Registration> = {
  kind: 'users',
  columns: USER_IMPORT_COLUMNS,

  readLine(fields) {
    const units = fields.organizationalUnits;
    const checked = checkRegistration({ ...fields, organizationalUnits: units ? units.split(ORGANIZATIONAL_UNIT_SEPARATOR) : [] });
    const label = lineLabel(fields);
    if (checked.errors) return { errors: checked.errors, ...(label ? { label } : {}) };
    return { line: checked.registration, label: label! };
  },

  ...perUserRules,

  async register(deps, payload, resumed) {
    const parsed = registrationSchema.safeParse(payload);
    if (!parsed.success) return { status: 'failed', reason: `the stored line is not a registration: ${parsed.error.issues[0]!.message}` };
    const registration = parsed.data;
    try {
      const registered = await registerUser(deps, registration);
      return { status: 'done', result: registered.requestId };
    } catch (err) {
      if (!(err instanceof Refusal) || err.code === 'unavailable') throw err;
      if (err.code === 'duplicate' && resumed) {
        // The attempt that claimed this line registered the user before it was cut off.
        const user = await deps.stores.users.find(registration.userId, registration.profile);
        if (user?.currentRequestId) return { status: 'done', result: user.currentRequestId };
      }
      return { status: 'failed', reason: err.reason };
    }
  },
};
