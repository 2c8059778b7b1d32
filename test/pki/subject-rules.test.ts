// The subject rules spelled out for the OpenAPI document (engines/pki/subject.ts) say exactly what \p{Cc}\p{Cf} and
// String.prototype.trim say, over every code point, so the spelling can neither let a character through nor refuse one.
import { CONTROL_OR_FORMAT, TRIMMED_SPACES } from '../../engines/pki/subject';

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
