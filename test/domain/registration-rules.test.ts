// User IDs follow one documented pattern, the same for the API, the console and a bulk import's lines.
import { checkRegistration, userIdSchema } from '../../domain/registration-rules';

describe('user IDs', () => {
  it('when an ID is a name JavaScript objects give meaning to, or does not begin with a letter or digit, then it is refused', () => {
    for (const id of ['__proto__', '_proto', '.hidden', '-option', '', 'a'.repeat(65), 'emp 002', 'emp/002']) {
      expect(userIdSchema.safeParse(id).success).toBe(false);
    }
  });

  it('when an ID is letters, digits, dots, underscores and hyphens from a letter or digit, then it is taken', () => {
    for (const id of ['emp002', 'E', '7', 'a.b_c-d', 'x'.repeat(64)]) expect(userIdSchema.parse(id)).toBe(id);
  });

  it('when a registration names __proto__, then the error names the userId field', () => {
    const checked = checkRegistration({
      userId: '__proto__', profile: 'kdanshinnet', email: 'a@example.jp', idAdminEmail: 'b@example.jp',
      organization: 'org', organizationalUnits: ['div1'], subscriberId: 'S-1',
    });
    expect(checked.errors?.map((e) => e.field)).toEqual(['userId']);
  });
});
