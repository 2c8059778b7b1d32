import { ConfigError, loadConfig } from '../../worker/config';
import { testEnv } from '../support/config';

describe('configuration', () => {
  it('when every value is valid, then it yields one typed object with the defaults filled in', () => {
    const config = loadConfig(testEnv({ CERTFLOW_HTTP_PORT: '3100' }));
    expect(config.http.port).toBe(3100);
    expect(config.publicUrl).toBe('http://localhost:3100');
    expect(config.dataKey).toHaveLength(32);
    expect(config.db).toMatchObject({ client: 'sqlite' });
    expect(config.apiTokens.map((t) => t.role).sort()).toEqual(['admin', 'support']);
  });

  it('when values are bad, then start-up stops with a message naming each of them', () => {
    const attempt = () =>
      loadConfig(testEnv({ CERTFLOW_HTTP_PORT: '70000', CERTFLOW_DATA_KEY: 'short', CERTFLOW_TEMPORAL_ADDRESS: 'nohostport', CERTFLOW_API_TOKENS: '{' }));
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      const message = (err as Error).message;
      for (const name of ['CERTFLOW_HTTP_PORT', 'CERTFLOW_DATA_KEY', 'CERTFLOW_TEMPORAL_ADDRESS', 'CERTFLOW_API_TOKENS']) {
        expect(message).toContain(name);
      }
    }
  });

  it('when PostgreSQL is chosen without a URL, then the missing value is named', () => {
    expect(() => loadConfig(testEnv({ CERTFLOW_DB_CLIENT: 'pg' }))).toThrow(/CERTFLOW_DB_URL/);
  });

  it('when the CA passphrase is missing, then it is named', () => {
    const env = testEnv();
    delete (env as Record<string, string | undefined>).CERTFLOW_CA_PASSPHRASE;
    expect(() => loadConfig(env)).toThrow(/CERTFLOW_CA_PASSPHRASE/);
  });
});
