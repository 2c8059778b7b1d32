// The subject's fields (CN, O, OU, subscriber ID, e-mail), as the PKI engine checks them and as the support API's
// schema (and so its OpenAPI document) states them: any input gives the subject or a SubjectValidationError naming the
// field; the rules are the ones written in words; the API's schema and the engine agree. The character classes spelled
// out for the document (engines/pki/subject.ts) are checked over every code point against \p{Cc}\p{Cf} and trim.
import fc from 'fast-check';
import { validateSubject, SubjectValidationError } from '../../engines/pki';
import { CONTROL_OR_FORMAT, TRIMMED_SPACES, type SubjectInput } from '../../engines/pki/subject';
import { registrationSchema } from '../../api/support/schemas';
import { hostileString, hostileValue, valueOrRefusal } from './arbitraries';

const SUBJECT: SubjectInput = {
  userId: 'emp001',
  organizationalUnits: ['div1-1', 'div1'],
  organization: 'sampleCompany',
  country: 'JP',
  email: 'emp001@bank.example.co.jp',
  subscriberId: 'S-0001',
};
const REGISTRATION = { ...SUBJECT, profile: 'kdanshinnet', idAdminEmail: 'id-admin@bank.example.co.jp' } as const;
const NAME_FIELDS = ['userId', 'organization', 'subscriberId'] as const;

const refusedFor = (field: string) => (err: unknown) => err instanceof SubjectValidationError && (err.field === field || err.field.startsWith(`${field}[`));
const engineTakes = (subject: SubjectInput) => valueOrRefusal(() => validateSubject(subject), (e) => e instanceof SubjectValidationError) !== undefined;

function codePointsWhere(test: (c: string) => boolean): number[] {
  const found: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) if ((cp < 0xd800 || cp > 0xdfff) && test(String.fromCodePoint(cp))) found.push(cp);
  return found;
}

describe('the spelled-out character classes of a DN value', () => {
  test('when every code point is tried, then CONTROL_OR_FORMAT holds exactly the Cc and Cf characters of this Node', () => {
    const spelled = new RegExp(`^[${CONTROL_OR_FORMAT}]$`, 'u');
    const unicode = /^[\p{Cc}\p{Cf}]$/u;
    expect(codePointsWhere((c) => spelled.test(c))).toEqual(codePointsWhere((c) => unicode.test(c)));
  });

  test('when every code point is tried, then TRIMMED_SPACES holds exactly what trim removes, less the Cc and Cf ones', () => {
    const spaces = new RegExp(`^[${TRIMMED_SPACES}]$`, 'u');
    const trimmedOther = (c: string) => c.trim() === '' && !/^[\p{Cc}\p{Cf}]$/u.test(c);
    expect(codePointsWhere((c) => spaces.test(c))).toEqual(codePointsWhere(trimmedOther));
  });
});

describe('validateSubject on any input', () => {
  test('when any field holds anything, then it gives the subject back or a SubjectValidationError naming that field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(SUBJECT) as Array<keyof SubjectInput>)), hostileValue, (field, value) => {
        const subject = { ...SUBJECT, [field]: value } as SubjectInput;
        const result = valueOrRefusal(() => validateSubject(subject), refusedFor(field));
        if (result !== undefined) expect(result).toBe(subject);
      }),
      { numRuns: 2000 },
    );
  });

  test('when a unit list holds anything, then a bad unit is named by its index', () => {
    fc.assert(
      fc.property(fc.array(hostileValue, { maxLength: 12 }), (units) => {
        valueOrRefusal(() => validateSubject({ ...SUBJECT, organizationalUnits: units as string[] }), refusedFor('organizationalUnits'));
      }),
    );
  });

  test('when a name field is any string, then it is taken exactly when it has 1 to 64 characters, no control, format or lone surrogate character and no space at either end', () => {
    const rule = (s: string) => s.length > 0 && !/[\p{Cc}\p{Cf}\p{Cs}]/u.test(s) && s.trim() === s && [...s].length <= 64;
    fc.assert(
      fc.property(fc.constantFrom(...NAME_FIELDS), hostileString, (field, value) => {
        expect(engineTakes({ ...SUBJECT, [field]: value })).toBe(rule(value));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("the support API's registration schema and the engine", () => {
  test('when a DN field is any string, then the schema takes it exactly when the engine does (a lone surrogate, which no document can state, is left to the engine)', () => {
    fc.assert(
      fc.property(fc.constantFrom('organization', 'subscriberId', 'organizationalUnits'), hostileString, (field, value) => {
        const fieldValue = field === 'organizationalUnits' ? [value] : value;
        const schemaTakes = registrationSchema.safeParse({ ...REGISTRATION, [field]: fieldValue }).success;
        expect(schemaTakes && !/\p{Cs}/u.test(value)).toBe(engineTakes({ ...SUBJECT, [field]: fieldValue }));
      }),
      { numRuns: 3000 },
    );
  });

  test('when the e-mail is any string or any address, then the schema takes it exactly when the engine does', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.emailAddress(), fc.emailAddress().map((a) => ` ${a}`)), (email) => {
        expect(registrationSchema.safeParse({ ...REGISTRATION, email }).success).toBe(engineTakes({ ...SUBJECT, email }));
      }),
      { numRuns: 2000 },
    );
  });

  test('when a whole registration is generated from anything, then the schema refuses it or the engine takes it', () => {
    fc.assert(
      fc.property(fc.record({ organization: hostileString, organizationalUnits: fc.array(hostileString, { minLength: 1, maxLength: 3 }), subscriberId: hostileString, email: fc.oneof(hostileString, fc.emailAddress()) }), (fields) => {
        const parsed = registrationSchema.safeParse({ ...REGISTRATION, ...fields });
        const lone = Object.values(fields).flat().some((v) => /\p{Cs}/u.test(v));
        if (parsed.success && !lone) expect(engineTakes({ ...SUBJECT, ...fields })).toBe(true);
      }),
    );
  });
});
