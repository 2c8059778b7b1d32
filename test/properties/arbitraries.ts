// What outside input looks like to a parser, for the property tests: any code point, and strings built from the
// pieces that break naive parsers (spaces of every kind, control and bidi characters, lone surrogates, astral
// characters, DN and URL metacharacters, prototype keys).
import fc from 'fast-check';

const PIECES = [
  '', ' ', '\u3000', '\u00a0', '\t', '\n', '\r', '\u0000', '\u007f', '\u0085', '\u202e', '\u200b', '\ufeff', '\u2028',
  '\ud800', '\udc00', '\u{1f600}', '\u{e0001}', '\u{110bd}', 'あ', '第一', 'ｱ', 'a', 'Z', '0', '9', '-', '.', '_', '@',
  '%', '%00', '\\', '"', "'", '<', '>', '=', ',', '+', ';', '#', '/', '..', '__proto__', 'constructor', 'x'.repeat(63),
];

/** A string as an attacker or a careless paste would send it. */
export const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
);

/** Anything a JSON or urlencoded body can hold in a field, and more. */
export const hostileValue = fc.oneof(hostileString, fc.anything());

/** Runs `attempt`; what it throws must satisfy `isClearRefusal`, anything else fails the property with the error. */
export function valueOrRefusal<T>(attempt: () => T, isClearRefusal: (err: unknown) => boolean): T | undefined {
  try {
    return attempt();
  } catch (err) {
    if (!isClearRefusal(err)) throw new Error(`not a clear refusal: ${String((err as Error)?.stack ?? err)}`);
    return undefined;
  }
}
