// The kinds of import and their rules: a new kind adds its name to IMPORT_KINDS (workflows/import-definitions.ts)
// and its rules here; the file reading, validation report, workflow, progress and API routes are shared.
import type { ImportKind } from '../workflows/import-definitions';
import type { ImportKindRules } from './import-kind';
import { certificateImportRules } from './import-certificates';
import { userImportRules } from './import-users';

export const IMPORT_KIND_RULES: { [K in ImportKind]: ImportKindRules<any> } = {
  users: userImportRules,
  certificates: certificateImportRules,
};
