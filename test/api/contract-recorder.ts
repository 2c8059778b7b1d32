// Checks every answer an API test receives against the OpenAPI document (ajv, JSON Schema 2020-12) and records which
// operations were exercised, so a test fails where the API answers something its contract does not say.
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { CONTRACT_COVERAGE } from './contract-coverage';

type Json = Record<string, any>;

export interface Operation {
  operationId: string;
  method: string;
  /** The document's path, e.g. /api/v1/users/{userId}. */
  path: string;
  matches: RegExp;
  responses: Json;
}

export interface RecordedAnswer {
  method: string;
  url: string;
  status: number;
  contentType: string;
  /** undefined for an answer outside every operation (unknown path: the 404 handler, or the 401 before it). */
  operationId?: string;
}

export function operationsOf(document: Json): Operation[] {
  return Object.entries(document.paths as Json).flatMap(([p, item]) =>
    Object.entries(item as Json).map(([method, op]) => ({
      operationId: op.operationId as string,
      method: method.toUpperCase(),
      path: p,
      // Express matches case-insensitively and with or without a trailing slash.
      matches: new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}/?$`, 'i'),
      responses: op.responses as Json,
    })),
  );
}

export interface ContractRecorder {
  readonly answers: RecordedAnswer[];
  readonly exercised: Set<string>;
  /** Validates one answer; throws naming the operation, status and the schema's complaint. */
  record(method: string, url: string, status: number, contentType: string | null, bodyText: string): void;
  /** Fails unless every operation CONTRACT_COVERAGE assigns to `testFile` was exercised (unless CERTFLOW_CONTRACT_COVERAGE=off). */
  assertExercised(testFile: string): void;
}

export function createContractRecorder(document: Json): ContractRecorder {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  // The document's component schemas under one root, so their `#/components/schemas/…` references resolve.
  ajv.addKeyword('components');
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
  const operations = operationsOf(document);
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (key: string, schema: Json) => {
    let v = validators.get(key);
    if (!v) {
      v = ajv.compile(rebase(schema));
      validators.set(key, v);
    }
    return v;
  };
  const errorValidator = () => validatorFor('Error', { $ref: '#/components/schemas/Error' });
  const answers: RecordedAnswer[] = [];
  const exercised = new Set<string>();

  function check(validate: ValidateFunction, body: unknown, what: string) {
    if (!validate(body)) throw new Error(`${what}: the body does not match its schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
  }

  return {
    answers,
    exercised,
    record(method, url, status, contentType, bodyText) {
      const pathname = new URL(url, 'http://x').pathname;
      const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
      const op = operations.find((o) => o.method === method.toUpperCase() && o.matches.test(pathname));
      answers.push({ method, url, status, contentType: mediaType, operationId: op?.operationId });
      const what = `${method} ${pathname} → ${status}${op ? ` (${op.operationId})` : ''}`;
      const parsed = () => {
        if (mediaType !== 'application/json') throw new Error(`${what}: answered ${mediaType || 'no content type'}, not JSON`);
        return JSON.parse(bodyText) as unknown;
      };
      if (!op) {
        // Outside every operation only the token check and the 404 handler answer, with the error body.
        if (status !== 401 && status !== 404) throw new Error(`${what}: no operation of the document matches this request`);
        check(errorValidator(), parsed(), what);
        return;
      }
      exercised.add(op.operationId);
      const response = op.responses[String(status)] as Json | undefined;
      if (!response) throw new Error(`${what}: the document does not declare ${status} for ${op.operationId} (it declares ${Object.keys(op.responses).join(', ')})`);
      const media = response.content?.[mediaType] as Json | undefined;
      if (!media) throw new Error(`${what}: answered ${mediaType}; the document declares ${Object.keys(response.content ?? {}).join(', ')}`);
      check(validatorFor(`${op.operationId} ${status} ${mediaType}`, media.schema as Json), mediaType === 'application/json' ? parsed() : bodyText, what);
    },
    assertExercised(testFile) {
      // A run of some tests only (`jest -t …`) calls some operations only: CERTFLOW_CONTRACT_COVERAGE=off says so.
      if (process.env.CERTFLOW_CONTRACT_COVERAGE === 'off') return;
      const relative = path.relative(path.resolve(__dirname, '../..'), testFile);
      const missing = Object.entries(CONTRACT_COVERAGE)
        .filter(([, c]) => 'exercisedBy' in c && c.exercisedBy === relative)
        .map(([id]) => id)
        .filter((id) => !exercised.has(id));
      if (missing.length) throw new Error(`${relative} is where CONTRACT_COVERAGE says these operations are exercised, but it never called them: ${missing.join(', ')}`);
    },
  };
}

/** A schema from inside the document, its `#/components/…` references pointed at the registered root. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\/components\//g, '"$ref":"openapi#/components/'));
}
