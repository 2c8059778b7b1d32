// Where each operation of the support API's document is exercised, for the contract: a test file (which then must
// call it, checked when that file's stack closes) or why no test calls it. test/api/contract.test.ts fails when an
// operation is missing here, so a route cannot be added without saying which test answers for it.
export type Coverage = { exercisedBy: string } | { notExercised: string };

export const CONTRACT_COVERAGE: Record<string, Coverage> = {
  openApiDocument: { exercisedBy: 'test/api/contract.test.ts' },
  docsPage: { exercisedBy: 'test/api/contract.test.ts' },
  docsStylesheet: { exercisedBy: 'test/api/contract.test.ts' },
  docsScript: { exercisedBy: 'test/api/contract.test.ts' },
  docsInit: { exercisedBy: 'test/api/contract.test.ts' },
  registerUser: { exercisedBy: 'test/api/support-api.test.ts' },
  reissue: { exercisedBy: 'test/api/support-api.test.ts' },
  revoke: { exercisedBy: 'test/api/support-api.test.ts' },
  newRequest: { exercisedBy: 'test/api/support-api.test.ts' },
  unlock: { exercisedBy: 'test/api/support-api.test.ts' },
  passwordReset: { exercisedBy: 'test/api/support-api.test.ts' },
  getUser: { exercisedBy: 'test/api/support-api.test.ts' },
  getRequest: { exercisedBy: 'test/api/support-api.test.ts' },
  listCertificates: { exercisedBy: 'test/api/support-api.test.ts' },
  listFailedMails: { exercisedBy: 'test/api/support-api.test.ts' },
  searchRequests: { exercisedBy: 'test/api/console-routes.test.ts' },
  listExpiringCertificates: { exercisedBy: 'test/api/console-routes.test.ts' },
  listAwaitingRetrieval: { exercisedBy: 'test/api/console-routes.test.ts' },
  listAuditTrail: { exercisedBy: 'test/api/console-routes.test.ts' },
  userTimeline: { exercisedBy: 'test/api/console-routes.test.ts' },
  diagnoseCertificate: { exercisedBy: 'test/api/console-routes.test.ts' },
  resendMail: { exercisedBy: 'test/api/console-routes.test.ts' },
  addOperator: { exercisedBy: 'test/console/access.test.ts' },
  disableOperator: { exercisedBy: 'test/console/access.test.ts' },
  operatorPasswordReset: { exercisedBy: 'test/console/access.test.ts' },
  listOperators: { exercisedBy: 'test/console/access.test.ts' },
  verifyAuditChain: { exercisedBy: 'test/api/audit-verify.test.ts' },
};
