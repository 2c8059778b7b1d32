// Runs once after all tests, failed or not: stops the run's throwaway PostgreSQL and removes its folder.
export default async function globalTeardown(): Promise<void> {
  globalThis.certflowPostgres?.stop();
  globalThis.certflowPostgres = undefined;
}
