// The migration import's routes of the support API (admin): previous CAs per profile (with their CRL) and the import
// of one existing certificate. `npm run cli -- ca trust-previous|previous` calls these.
import type { Request } from 'express';
import { z } from 'zod';
import { importCertificate, listPreviousCas, setPreviousCaCrl, trustPreviousCa } from '../../domain';
import type { PreviousCa } from '../../engines/pki';
import { HttpError } from '../errors';
import { binaryBody, defineRoute, type SupportRoute } from './contract';
import { importedCertificateSchema, previousCaViewSchema } from './responses';
import { certificateImportSchema, fingerprintSchema, previousCaSchema, profileChoiceSchema } from './schemas';

/** The CRL as sent: DER, or PEM (told apart by its first bytes, whatever the content type said). */
const CRL_TYPES = ['application/pkix-crl', 'application/x-pem-file', 'text/plain'] as const;

/** What the API shows of a previous CA (the PEM is what the admin gave). */
const view = ({ certificatePem: _pem, ...ca }: PreviousCa) => ca;

const bodyField = (req: Request, name: string) => (req.body as Record<string, unknown> | undefined)?.[name] ?? '?';

// Before import-routes.ts in SUPPORT_ROUTES: its POST /imports/:kind would take POST /imports/certificate.
export const migrationRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'trustPreviousCa',
    method: 'post',
    path: '/previous-cas',
    role: 'admin',
    tag: 'migration',
    summary: "Trust a previous CA of a profile: the bank's CA whose live certificates are imported",
    description: 'Trusted to renew the certificates imported from it over TLS, never for the portal gate or the console. The same CA again: the same CA, its CRL kept.',
    body: previousCaSchema,
    answers: { 201: { description: 'the previous CA', schema: previousCaViewSchema } },
    refusals: { 400: 'not a CA certificate, or not a certificate (`field`: certificatePem)' },
    audit: { action: 'trustPreviousCa', target: (req) => `profile:${bodyField(req, 'profile')}` },
    run: async ({ deps, body }) => {
      const ca = view(await trustPreviousCa(deps, body));
      return { status: 201, body: ca, audit: { fingerprint: ca.fingerprint, subject: ca.subject } };
    },
  }),

  defineRoute({
    operationId: 'setPreviousCaCrl',
    method: 'put',
    path: '/previous-cas/:profile/:fingerprint/crl',
    role: 'admin',
    tag: 'migration',
    summary: "Register a previous CA's CRL (it replaces the one before): a certificate on it is never imported nor renewed",
    description: 'The CRL as the body: DER (`application/pkix-crl`) or PEM (`application/x-pem-file`, `text/plain`), at most 8 MB (a bank\'s CRL may list many thousands of serials).',
    params: z.object({ profile: previousCaSchema.shape.profile, fingerprint: fingerprintSchema }),
    bodies: Object.fromEntries(CRL_TYPES.map((type) => [type, binaryBody])),
    bodyLimit: '8mb',
    answers: { 200: { description: 'the previous CA with its CRL', schema: previousCaViewSchema } },
    refusals: { 400: 'the CRL is not a CRL, or not signed by that CA (`field`: crl)', 404: 'no such previous CA of the profile' },
    audit: { action: 'setPreviousCaCrl', target: (req) => `profile:${req.params.profile}` },
    run: async ({ deps, params, body }) => {
      if (!Buffer.isBuffer(body)) throw HttpError.badRequest(`send the CRL as the body, with content-type ${CRL_TYPES.join(', ')}`, 'crl');
      const crl = body.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? body.toString('latin1') : body;
      const ca = view(await setPreviousCaCrl(deps, { ...params, crl }));
      return { status: 200, body: ca, audit: { fingerprint: ca.fingerprint, crl: ca.crl } };
    },
  }),

  defineRoute({
    operationId: 'listPreviousCas',
    method: 'get',
    path: '/previous-cas',
    role: 'admin',
    tag: 'migration',
    summary: 'The previous CAs (of a profile) and their CRLs',
    query: profileChoiceSchema,
    answers: { 200: { description: 'the previous CAs', schema: z.array(previousCaViewSchema) } },
    run: async ({ deps, query }) => ({ status: 200, body: (await listPreviousCas(deps, query.profile)).map(view) }),
  }),

  defineRoute({
    operationId: 'importCertificate',
    method: 'post',
    path: '/imports/certificate',
    role: 'admin',
    tag: 'migration',
    summary: 'Import one live certificate of a previous CA: its request starts active (kind imported), without a key or mails',
    description:
      'It must chain to a previous CA of the profile, be within its validity, not be on that CA\'s CRL, and name the user (CN, O, OUs). ' +
      'The user is registered, or found when registered with the same fields and no open request. The same certificate again answers the same request (200).',
    body: certificateImportSchema,
    answers: {
      201: { description: 'imported: its certificate workflow runs, active', schema: importedCertificateSchema },
      200: { description: 'imported before: the same request, unchanged', schema: importedCertificateSchema },
    },
    refusals: {
      400: 'a foreign issuer, expired, not yet valid, on the previous CRL, or a subject that does not name the user (`field` names it)',
      409: 'the user is registered with other details or has an open request',
      503: 'Temporal could not start the workflow; nothing was kept',
    },
    audit: { action: 'importCertificate', target: (req) => `user:${bodyField(req, 'userId')}` },
    run: async ({ deps, body }) => {
      const r = await importCertificate(deps, body);
      const audit = { profile: r.profile, requestId: r.requestId, serial: r.serial, alreadyImported: r.alreadyImported };
      // The same certificate again is not an error: the request it became, unchanged.
      return r.alreadyImported ? { status: 200, body: r, audit } : { status: 201, body: r, audit };
    },
  }),
];
