// The user's forms (api/web/forms.ts) and the request IDs typed into them or into the support API's paths: whatever
// a browser or an attacker posts gives a value or an HttpError 4xx with a Japanese message, never another exception;
// a well-formed form reads back what was typed.
import fc from 'fast-check';
import { z } from 'zod';
import { HttpError } from '../../api/errors';
import { parse, REQUEST_ID as API_REQUEST_ID, requestIdSchema } from '../../api/support/schemas';
import { formField, readKeyRetrievalForm, typedRequestId } from '../../api/web/forms';
import { REQUEST_ID as FORM_REQUEST_ID } from '../../domain/key-retrieval';
import { tokyoDay } from '../../workflows/time-rules';
import { hostileString, hostileValue, valueOrRefusal } from './arbitraries';

const clientError = (err: unknown) => err instanceof HttpError && err.status >= 400 && err.status < 500 && err.message.length > 0;
const FIELDS = ['requestId', 'password', 'passwordConfirmation'] as const;
/** A body as express.urlencoded gives it, and more: any of the form's fields holding anything, plus other keys. */
const formBody = fc.oneof(
  fc.record({ requestId: hostileValue, password: hostileValue, passwordConfirmation: hostileValue }, { requiredKeys: [] }),
  fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), hostileString), hostileValue),
  fc.anything(),
);
const requestId = fc.stringMatching(/^\d{15}$/);
/** The PKCS#12 policy's passwords: printable ASCII, 8 to 128 characters. */
const goodPassword = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 8, maxLength: 128 });

describe('the key retrieval form on any input', () => {
  test('when any body is posted, then formField gives a string, nothing, or a 4xx naming the field', () => {
    fc.assert(
      fc.property(formBody, fc.constantFrom(...FIELDS), (body, name) => {
        const value = valueOrRefusal(() => formField(body, name), (e) => clientError(e) && (e as HttpError).field === name);
        expect(value === undefined || typeof value === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('when any body is posted, then readKeyRetrievalForm gives the form or a 4xx naming one of its fields', () => {
    fc.assert(
      fc.property(formBody, hostileString, (body, userId) => {
        const form = valueOrRefusal(() => readKeyRetrievalForm(body, userId), (e) => clientError(e) && FIELDS.includes((e as HttpError).field as never));
        if (form) {
          expect(form.requestId).toMatch(/^\d{15}$/);
          expect(form.password).toBe((body as Record<string, unknown>).password);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('when the request ID is typed with spaces around it and the password twice, then the form reads back exactly that', () => {
    fc.assert(
      fc.property(requestId, fc.stringMatching(/^[ \t]{0,3}$/), fc.stringMatching(/^[ \t]{0,3}$/), goodPassword, (id, before, after, password) => {
        fc.pre(password.toLowerCase() !== 'emp001');
        expect(readKeyRetrievalForm({ requestId: `${before}${id}${after}`, password, passwordConfirmation: password }, 'emp001')).toEqual({ requestId: id, password });
      }),
    );
  });

  test('when anything is posted, then typedRequestId gives at most 15 characters of what was typed, or nothing', () => {
    fc.assert(
      fc.property(formBody, (body) => {
        const typed = typedRequestId(body);
        if (typed !== undefined) expect(typed).toBe(String((body as Record<string, unknown>).requestId).slice(0, 15));
      }),
    );
  });
});

describe('request IDs on any input', () => {
  test('when any string is given, then the API, the form and the domain agree: exactly 15 ASCII digits', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, requestId, requestId.map((id) => id.replace(/^\d/, '٣'))), (text) => {
        const expected = /^[0-9]{15}$/.test(text);
        expect(API_REQUEST_ID.test(text)).toBe(expected);
        expect(FORM_REQUEST_ID.test(text)).toBe(expected);
        expect(requestIdSchema.safeParse(text).success).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  test('when a path parameter is anything, then it parses or is a 400 naming requestId', () => {
    const params = z.object({ requestId: requestIdSchema });
    fc.assert(
      fc.property(hostileValue, (value) => {
        valueOrRefusal(() => parse(params, { requestId: value }, 'params'), (e) => clientError(e) && (e as HttpError).status === 400 && (e as HttpError).field === 'requestId');
      }),
    );
  });

  test("when certflow numbers a request (its Tokyo day and a sequence), then the ID is one every parser takes", () => {
    const from = Date.UTC(2000, 0, 1);
    const to = Date.UTC(2099, 11, 31);
    fc.assert(
      fc.property(fc.integer({ min: from, max: to }), fc.integer({ min: 1, max: 9_999_999 }), (at, sequence) => {
        // As stores/requests.ts's nextRequestId writes it.
        const id = `${tokyoDay(at)}${String(sequence).padStart(7, '0')}`;
        expect(requestIdSchema.parse(id)).toBe(id);
        expect(FORM_REQUEST_ID.test(id)).toBe(true);
      }),
    );
  });
});
