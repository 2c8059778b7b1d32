// Migration import in bulk, the `certificates` kind: a CSV line per certificate (the users file's columns and the
// certificate as PEM in a quoted certificatePem column), checked and imported by importCertificate.
import { z } from 'zod';
import type { FieldProblem } from '../stores';
import type { ImportKindRules } from './import-kind';
import { lineLabel, ORGANIZATIONAL_UNIT_SEPARATOR, perUserRules, USER_IMPORT_COLUMNS } from './import-users';
import { importCertificate, subjectMismatch, type CertificateImport } from './migration-import';
import { Refusal } from './refusal';
import { checkRegistration, registrationSchema } from './registration-rules';

const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/;

/** One PEM certificate, as the API's body and a CSV line carry it. */
export const certificatePemSchema = z
  .string()
  .max(12_000, 'must be at most 12,000 characters')
  .regex(PEM_CERTIFICATE, 'must be one PEM certificate (-----BEGIN CERTIFICATE-----)');

export const certificateImportSchema = registrationSchema.extend({ certificatePem: certificatePemSchema });

/** The header line of a certificates file: the users file's columns and the certificate. */
export const CERTIFICATE_IMPORT_COLUMNS = [...USER_IMPORT_COLUMNS, 'certificatePem'] as const;


export const certificateImportRules: ImportKindRules<CertificateImport> = {
  kind: 'certificates',
  columns: CERTIFICATE_IMPORT_COLUMNS,

  /** The registration's rules, the PEM, and the subject against the fields; the issuer, dates and CRL at registration. */
  readLine(fields) {
    const { certificatePem, ...user } = fields;
    const units = user.organizationalUnits;
    const checked = checkRegistration({ ...user, organizationalUnits: units ? units.split(ORGANIZATIONAL_UNIT_SEPARATOR) : [] });
    const label = lineLabel(fields);
    const errors: FieldProblem[] = checked.errors ? [...checked.errors] : [];
    const pem = certificatePemSchema.safeParse(certificatePem ?? '');
    if (!pem.success) errors.push({ field: 'certificatePem', message: pem.error.issues[0]!.message });
    const registration = checked.errors ? undefined : checked.registration;
    if (registration && pem.success) {
      let mismatch: FieldProblem | undefined;
      try {
        mismatch = subjectMismatch(pem.data, registration);
      } catch {
        mismatch = { field: 'certificatePem', message: 'is not an X.509 certificate' };
      }
      if (!mismatch) return { line: { ...registration, certificatePem: pem.data }, label: label! };
      errors.push(mismatch);
    }
    return { errors, ...(label ? { label } : {}) };
  },

  ...perUserRules,

  async register(deps, payload) {
    const parsed = certificateImportSchema.safeParse(payload);
    if (!parsed.success) return { status: 'failed', reason: `the stored line is not a certificate import: ${parsed.error.issues[0]!.message}` };
    try {
      // Idempotent by issuer and serial: a resumed line that was imported answers its request again.
      return { status: 'done', result: (await importCertificate(deps, parsed.data)).requestId };
    } catch (err) {
      if (!(err instanceof Refusal) || err.code === 'unavailable') throw err;
      return { status: 'failed', reason: err.reason };
    }
  },
};
