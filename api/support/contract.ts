// The support API's one contract: each route is declared once (method, path, role, schemas, every answer) with
// defineRoute; mountRoutes builds the Express routes from the declarations and openApiDocument the OpenAPI 3.1
// document, so the router and the document cannot drift.
import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import type { Actor, DomainDeps } from '../../domain';
import { HttpError } from '../errors';
import { audited } from './audit';
import { answerOnce, IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY, IDEMPOTENCY_REFUSALS } from './idempotency';
import { permits, type ApiToken } from './auth';
import { parse } from './schemas';

export interface SupportRouterDeps extends DomainDeps {
  apiTokens: ApiToken[];
}

/** Where every declared path is mounted. */
export const API_BASE = '/api/v1';

export type Role = Actor['role'];
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type SuccessStatus = 200 | 201 | 202 | 204;
/** Error answers a route states itself; 400, 401, 413, 415, 500 (and 403 for admin routes) every route has, and a route may say when it gives one of them (its description is added). */
export type RefusalStatus = 400 | 403 | 404 | 409 | 415 | 422 | 429 | 503;

/** One success answer: its schema describes the value the route returns (Date fields are sent as date-time strings). */
export interface Answer<S extends z.ZodType = z.ZodType> {
  description: string;
  schema: S;
  /** Default application/json; any other type is sent as it is (a string or a Buffer). */
  mediaType?: string;
}

type Answers = Partial<Record<SuccessStatus, Answer>>;

/** What a route's run returns: one of its declared statuses and a body of that status's schema. */
export type Reply<A extends Answers> = {
  [S in keyof A & SuccessStatus]: {
    status: S;
    body: z.input<NonNullable<A[S]>['schema']>;
    /** What of the call the audit row keeps (IDs and reasons, never a password); audited routes only. */
    audit?: Record<string, unknown>;
    headers?: Record<string, string>;
  };
}[keyof A & SuccessStatus];

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: Actor;
  deps: SupportRouterDeps;
  req: Request;
  /** A retry with the Idempotency-Key of a call that died unanswered: the route finishes what that call began. */
  resumed: boolean;
}

type ObjectSchema = z.ZodObject;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
/** Media type → the schema of a body of that type (see RouteSpec.bodies). */
export type BodySchemas = Record<string, z.ZodType>;
/** Whichever declared body came, or undefined when the request's Content-Type is none of them (or there is no body). */
type BodiesOut<M> = M extends BodySchemas ? z.output<M[keyof M]> | undefined : never;

/** A body read as raw bytes (e.g. a DER certificate): `run` gets a Buffer; the document lists the media type without a schema (OpenAPI 3.1's binary content). */
export const binaryBody = z.custom<Buffer>((v) => Buffer.isBuffer(v), 'must be the raw bytes');

export interface RouteSpec<
  P extends ObjectSchema | undefined,
  Q extends ObjectSchema | undefined,
  B extends z.ZodType | undefined,
  A extends Answers,
  M extends BodySchemas | undefined = undefined,
> {
  /** Unique, camelCase: the OpenAPI operationId and the audit's name for the route. */
  operationId: string;
  method: HttpMethod;
  /** Express pattern under /api/v1, e.g. `/users/:userId`. */
  path: string;
  /** `public` needs no token; `support` is also open to `admin`. */
  role: Role | 'public';
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The body's media type: JSON (default) or a text type parsed as a string (e.g. text/csv). */
  bodyType?: 'application/json' | `text/${string}`;
  /**
   * Instead of `body`/`bodyType`: several media types, each with the schema of its body — `application/json` parsed as
   * JSON, `binaryBody` read as bytes, any other type as text. `run` gets the body of the type that came, or undefined
   * when the request has none of them (the route answers that with its own 400).
   */
  bodies?: M;
  /** Default 16kb. */
  bodyLimit?: string;
  answers: A;
  /** Route-specific error answers, each with when it happens: e.g. `{ 404: 'no such user' }`. */
  refusals?: Partial<Record<RefusalStatus, string>>;
  /** A state-changing route: an audit row for every call (refusals included), with the run's `audit` detail. */
  audit?: { action: string; target: (req: Request) => string };
  run(ctx: RouteContext<Out<P>, Out<Q>, Out<B> | BodiesOut<M>>): Promise<Reply<A>>;
}

/** A declaration with its types erased, as the router and the document read it. */
export interface SupportRoute {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly role: Role | 'public';
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly params?: ObjectSchema;
  readonly query?: ObjectSchema;
  readonly body?: z.ZodType;
  readonly bodyType?: string;
  readonly bodies?: BodySchemas;
  readonly bodyLimit?: string;
  readonly answers: Answers;
  readonly refusals?: Partial<Record<RefusalStatus, string>>;
  readonly audit?: { action: string; target: (req: Request) => string };
  run(ctx: RouteContext<unknown, unknown, unknown>): Promise<{ status: number; body: unknown; audit?: Record<string, unknown>; headers?: Record<string, string> }>;
}

/** Declares one route of the support API; list it in SUPPORT_ROUTES (api/support/router.ts) to serve and document it. */
export function defineRoute<
  P extends ObjectSchema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  A extends Answers = Answers,
  M extends BodySchemas | undefined = undefined,
>(spec: RouteSpec<P, Q, B, A, M>): SupportRoute {
  return spec as unknown as SupportRoute;
}

/** Names a response schema: it becomes `#/components/schemas/<name>` wherever it is used. */
const components = new Map<string, z.ZodType>();
export function component<S extends z.ZodType>(name: string, schema: S): S {
  if (components.has(name) && components.get(name) !== schema) throw new Error(`component ${name} is declared twice`);
  components.set(name, schema);
  return schema;
}

/** The body of every error answer, as api/errors.ts's errorHandler sends it. */
export const errorBodySchema = component(
  'Error',
  z.object({
    error: z.string().describe('machine-readable code: bad_request, unauthorized, forbidden, not_found, conflict, workflow_unavailable, entity_parse_failed, …'),
    message: z.string().describe("the reason, in English: the workflow's refusal reason for a 409"),
    field: z.string().optional().describe('the bad input field (400), e.g. `organizationalUnits[1]`'),
  }),
);

function requireRole(actor: Actor, role: Role): void {
  if (!permits(actor, role)) throw HttpError.forbidden(`this action needs the ${role} role; ${actor.agent} has ${actor.role}`);
}

function bodyParser(route: SupportRoute): RequestHandler[] {
  const limit = route.bodyLimit ?? '16kb';
  if (route.bodies) {
    const types = Object.entries(route.bodies);
    const json = types.filter(([t]) => t === 'application/json').map(([t]) => t);
    const binary = types.filter(([, s]) => s === binaryBody).map(([t]) => t);
    const text = types.filter(([t, s]) => t !== 'application/json' && s !== binaryBody).map(([t]) => t);
    // An empty type list would make a parser take every type.
    return [
      ...(json.length ? [express.json({ type: json, limit })] : []),
      ...(binary.length ? [express.raw({ type: binary, limit })] : []),
      ...(text.length ? [express.text({ type: text, limit })] : []),
    ];
  }
  const type = route.bodyType ?? 'application/json';
  return [type === 'application/json' ? express.json({ limit }) : express.text({ type, limit })];
}

/** The body of whichever declared media type the request has, parsed by its schema; undefined for none of them. */
function bodyOf(bodies: BodySchemas, req: Request): unknown {
  const type = req.is(Object.keys(bodies));
  if (!type || req.body === undefined) return undefined;
  return parse(bodies[type]!, req.body, 'body');
}

function handlerOf(route: SupportRoute, deps: SupportRouterDeps): RequestHandler {
  return async (req, res) => {
    const actor = res.locals.actor as Actor;
    const perform = (resumed = false) => {
      if (route.role !== 'public') requireRole(actor, route.role);
      return route.run({
        params: route.params ? parse(route.params, req.params, 'params') : undefined,
        query: route.query ? parse(route.query, req.query, 'query') : undefined,
        body: route.bodies ? bodyOf(route.bodies, req) : route.body ? parse(route.body, req.body, 'body') : undefined,
        actor,
        deps,
        req,
        resumed,
      });
    };
    if (!route.audit) return send(await perform());
    const { action, target } = route.audit;
    const run = (resumed = false) => audited(deps.stores.audit, actor, { action, target: target(req), run: () => perform(resumed), detail: (r) => r.audit ?? {} });
    // A state-changing call: with an Idempotency-Key, a retry gets the first answer (JSON) instead of a second run.
    if (req.get(IDEMPOTENCY_HEADER) === undefined) return send(await run());
    const answer = await answerOnce({ store: deps.stores.idempotency, dataKey: deps.dataKey }, route.operationId, req, res, async ({ resumed }) => {
      const reply = await run(resumed);
      if (reply.headers) res.set(reply.headers);
      return { status: reply.status, json: JSON.stringify(reply.body) };
    });
    res.status(answer.status).type('json').send(answer.json);

    function send(reply: Awaited<ReturnType<SupportRoute['run']>>): void {
      const mediaType = route.answers[reply.status as SuccessStatus]?.mediaType;
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status);
      if (mediaType === undefined) res.json(reply.body);
      else res.type(mediaType).send(reply.body);
    }
  };
}

/**
 * Serves the declarations on `router` (mounted at /api/v1): the public routes first, then the bearer-token
 * authentication, which every later request under the mount passes, then the rest.
 */
export function mountRoutes(router: Router, routes: readonly SupportRoute[], deps: SupportRouterDeps, authenticate: RequestHandler): void {
  checkDeclarations(routes);
  const mount = (r: SupportRoute) => router[r.method](r.path, ...bodyParser(r), handlerOf(r, deps));
  routes.filter((r) => r.role === 'public').forEach(mount);
  router.use(undeclaredMethods(routes));
  router.use(authenticate);
  routes.filter((r) => r.role !== 'public').forEach(mount);
}

/** `/requests/:requestId` as a pattern that also matches the literal `/requests/awaiting-retrieval`. */
const patternOf = (path: string) => new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/:\w+/g, '([^/]+)')}$`, 'i');

/** The path's parameters by name, when `path` (an Express pattern) matches `requestPath`. */
function paramsOf(path: string, requestPath: string): Record<string, string> | undefined {
  const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const match = patternOf(path).exec(requestPath);
  if (!match) return undefined;
  try {
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
  } catch {
    return Object.fromEntries(names.map((n, i) => [n, match[i + 1]!]));
  }
}

/**
 * A declared path asked with a method no route of it declares: 405 with `Allow` (RFC 9110 15.5.6), and OPTIONS
 * answered with the same list; before the token check, as the document says which methods a path has to anyone.
 * Paths of one shape told apart by their parameters' schemas (`/imports/{kind}` and `/imports/{importId}`, and the
 * literal `/imports/certificate`) are those whose parameters fit, when any does.
 */
function undeclaredMethods(routes: readonly SupportRoute[]): RequestHandler {
  return (req, res, next) => {
    const matching = routes.flatMap((r) => {
      const params = paramsOf(r.path, req.path);
      return params ? [{ method: r.method.toUpperCase(), fits: !r.params || r.params.safeParse(params).success }] : [];
    });
    const fitting = matching.some((m) => m.fits) ? matching.filter((m) => m.fits) : matching;
    const methods = [...new Set(fitting.map((d) => d.method))];
    if (methods.length === 0 || methods.includes(req.method === 'HEAD' ? 'GET' : req.method)) return next();
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
    res.set('Allow', allow);
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next(new HttpError(405, 'method_not_allowed', `${req.method} is not a method of ${req.baseUrl}${req.path}; it has ${allow}`));
  };
}

function checkDeclarations(routes: readonly SupportRoute[]): void {
  const seen = new Set<string>();
  // In the order mountRoutes serves them: Express answers with the first route that matches.
  const mounted = [...routes.filter((r) => r.role === 'public'), ...routes.filter((r) => r.role !== 'public')];
  mounted.forEach((r, i) => {
    for (const key of [r.operationId, `${r.method} ${r.path}`]) {
      if (seen.has(key)) throw new Error(`support API: ${key} is declared twice`);
      seen.add(key);
    }
    const shadow = mounted.slice(0, i).find((e) => e.method === r.method && patternOf(e.path).test(r.path));
    if (shadow) throw new Error(`support API: ${r.operationId} (${r.path}) is served after ${shadow.operationId} (${shadow.path}), which takes its path: declare it first`);
    if (r.body && r.bodies) throw new Error(`support API: ${r.operationId} declares both body and bodies`);
    const declared = Object.keys(r.params?.shape ?? {}).sort().join(',');
    const inPath = [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]).sort().join(',');
    if (declared !== inPath) throw new Error(`support API: ${r.operationId} declares path parameters [${declared}] for ${r.path}`);
  });
}

// ---- the OpenAPI 3.1 document ----

/** `/users/:userId` → `/api/v1/users/{userId}`. */
export function openApiPath(expressPath: string): string {
  return API_BASE + expressPath.replace(/:(\w+)/g, '{$1}');
}

const COMMON_ERRORS: Record<number, string> = {
  400: 'a path or query parameter or the body is malformed (`field` names it), or the body is not valid JSON',
  401: 'no bearer token, or not a valid one',
  413: 'the body is larger than the route accepts',
  415: "the body's charset or content encoding is not supported",
  500: 'internal error; the incident has been logged',
};

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) from zod; a Date is sent as its ISO string, and nothing else may be unrepresentable. */
function jsonSchemaOptions(io: 'input' | 'output') {
  return {
    io,
    target: 'draft-2020-12' as const,
    unrepresentable: 'any' as const,
    override(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }) {
      const type = ctx.zodSchema._zod.def.type;
      if (type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
      else if (['bigint', 'symbol', 'void', 'map', 'set', 'function', 'custom', 'nan'].includes(type) || (type === 'transform' && io === 'output')) {
        throw new Error(`support API: a ${type} schema cannot be described in JSON Schema`);
      }
    },
  };
}

function inlineSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, jsonSchemaOptions(io)) as Record<string, unknown>;
  return rest;
}

/** Every state-changing operation takes it: a retry with the same key gets the first answer again. */
const IDEMPOTENCY_PARAMETER = {
  name: IDEMPOTENCY_HEADER,
  in: 'header',
  required: false,
  description: 'A key of your making (e.g. a UUID) per intended call: retried with the same key and request, the call answers as the first time did (header Idempotent-Replayed: true), kept 24 hours.',
  schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
};

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** The OpenAPI 3.1 document of the declared routes. */
export function openApiDocument(routes: readonly SupportRoute[], info: OpenApiInfo): Record<string, unknown> {
  checkDeclarations(routes);
  // Every answer schema goes into one registry, so shared ones are components referenced by $ref.
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of components) registry.add(schema, { id });
  const idOf = (schema: z.ZodType, fallback: string) => {
    const known = registry.get(schema)?.id;
    if (known) return known;
    registry.add(schema, { id: fallback });
    return fallback;
  };
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const pascal = (s: string) => s[0]!.toUpperCase() + s.slice(1);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    const answers = Object.entries(r.answers) as Array<[string, Answer]>;
    for (const [status, answer] of answers) {
      // A JSON body is a component (shared ones by their name); a text body (a page, a script) is just a string.
      const schema = answer.mediaType
        ? inlineSchema(answer.schema, 'output')
        : ref(idOf(answer.schema, `${pascal(r.operationId)}${answers.length > 1 ? status : ''}Response`));
      responses[status] = { description: answer.description, content: { [answer.mediaType ?? 'application/json']: { schema } } };
    }
    const errors: Record<number, string> = r.role === 'public' ? { 400: COMMON_ERRORS[400]!, 413: COMMON_ERRORS[413]!, 415: COMMON_ERRORS[415]!, 500: COMMON_ERRORS[500]! } : { ...COMMON_ERRORS };
    if (r.role === 'admin') errors[403] = 'the token is not an admin';
    if (r.audit) Object.assign(errors, IDEMPOTENCY_REFUSALS);
    for (const [status, description] of Object.entries(r.refusals ?? {})) errors[Number(status)] = errors[Number(status)] ? `${errors[Number(status)]}; ${description}` : description;
    for (const [status, description] of Object.entries(errors)) {
      responses[status] = {
        description,
        content: {
          'application/json': { schema: ref('Error') },
          // A client that prefers HTML (a browser) gets the same error as certflow's error page.
          'text/html': { schema: { type: 'string' } },
        },
      };
    }
    const parameters = [
      ...Object.entries(r.params?.shape ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: inlineSchema(schema as z.ZodType) })),
      ...Object.entries(r.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: inlineSchema(schema as z.ZodType),
      })),
      ...(r.audit ? [IDEMPOTENCY_PARAMETER] : []),
    ];
    const operation: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      description: [r.description, r.role === 'public' ? 'No token needed.' : `Role: ${r.role}${r.role === 'support' ? ' (or admin)' : ''}.`].filter(Boolean).join('\n\n'),
      tags: [r.tag],
      'x-certflow-role': r.role,
      security: r.role === 'public' ? [] : [{ bearerAuth: [r.role] }],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: !r.body.safeParse({}).success, content: { [r.bodyType ?? 'application/json']: { schema: inlineSchema(r.body) } } } }
        : {}),
      ...(r.bodies
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(Object.entries(r.bodies).map(([type, schema]) => [type, schema === binaryBody ? {} : { schema: inlineSchema(schema) }])),
            },
          }
        : {}),
      responses,
    };
    (paths[openApiPath(r.path)] ??= {})[r.method] = operation;
  }

  const { schemas } = z.toJSONSchema(registry, { ...jsonSchemaOptions('output'), uri: (id) => `#/components/schemas/${id}` });
  const componentSchemas = Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => {
      const { $schema: _s, $id: _i, ...rest } = s as Record<string, unknown>;
      return [id, rest];
    }),
  );
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info,
    paths,
    components: {
      schemas: componentSchemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from CERTFLOW_API_TOKENS; its role (support or admin) is what the operation lists in its security requirement.',
        },
      },
    },
  };
}
