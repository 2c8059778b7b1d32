// The migration import's routes of the support API: previous CAs per profile (with their CRL) and the import of one
// existing certificate. Mounted inside createSupportRouter, so behind its bearer tokens and JSON parser.
import express, { Router } from 'express';
import { importCertificate, listPreviousCas, setPreviousCaCrl, trustPreviousCa, type DomainDeps } from '../../domain';
import type { PreviousCa } from '../../engines/pki';
import { auditedCommand } from './audit';
import { actorOf, requireRole } from './auth';
import { certificateImportSchema, fingerprintSchema, parse, previousCaSchema, profileChoiceSchema } from './schemas';

/** A bank's CRL may list many thousands of serials: far beyond the API's 16 kB JSON bodies. */
const CRL_BODY = express.raw({ type: ['application/pkix-crl', 'application/x-pem-file', 'text/plain'], limit: '8mb' });

/** What the API shows of a previous CA (the PEM is what the admin gave). */
const view = ({ certificatePem: _pem, ...ca }: PreviousCa) => ca;

export function createMigrationRoutes(deps: DomainDeps): Router {
  const router = Router();

  const command = auditedCommand(deps.stores.audit);

  router.post(
    '/previous-cas',
    command('admin', 'trustPreviousCa', (req) => `profile:${(req.body as { profile?: unknown } | undefined)?.profile ?? '?'}`, (req) => trustPreviousCa(deps, parse(previousCaSchema, req.body)), {
      status: 201,
      body: view,
      detail: (ca) => ({ fingerprint: ca.fingerprint, subject: ca.subject }),
    }),
  );

  router.put(
    '/previous-cas/:profile/:fingerprint/crl',
    CRL_BODY,
    command('admin', 'setPreviousCaCrl', (req) => `profile:${req.params.profile}`, (req) => {
      const { profile } = parse(previousCaSchema.pick({ profile: true }), { profile: req.params.profile }, 'profile');
      const fingerprint = parse(fingerprintSchema, req.params.fingerprint, 'fingerprint');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const crl = body.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? body.toString('latin1') : body;
      return setPreviousCaCrl(deps, { profile, fingerprint, crl });
    }, {
      status: 200,
      body: view,
      detail: (ca) => ({ fingerprint: ca.fingerprint, crl: ca.crl }),
    }),
  );

  router.get('/previous-cas', async (req, res) => {
    requireRole(actorOf(res), 'admin');
    const { profile } = parse(profileChoiceSchema, { profile: req.query.profile }, 'profile');
    res.json((await listPreviousCas(deps, profile)).map(view));
  });

  router.post(
    '/imports/certificate',
    command('admin', 'importCertificate', (req) => `user:${(req.body as { userId?: unknown } | undefined)?.userId ?? '?'}`, (req) => importCertificate(deps, parse(certificateImportSchema, req.body)), {
      // The same certificate again is not an error: the request it became, unchanged.
      status: (r) => (r.alreadyImported ? 200 : 201),
      body: (r) => r,
      detail: (r) => ({ profile: r.profile, requestId: r.requestId, serial: r.serial, alreadyImported: r.alreadyImported }),
    }),
  );

  return router;
}
