import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

  it('when the public URL is plain HTTP on another host than loopback, then start-up refuses unless it is explicitly allowed', () => {
    expect(() => loadConfig(testEnv({ CERTFLOW_PUBLIC_URL: 'http://enroll.bank.example.jp' }))).toThrow(/CERTFLOW_PUBLIC_URL: .*plain HTTP.*CERTFLOW_ALLOW_INSECURE_PUBLIC_URL/);
    expect(loadConfig(testEnv({ CERTFLOW_PUBLIC_URL: 'http://enroll.bank.example.jp', CERTFLOW_ALLOW_INSECURE_PUBLIC_URL: 'true' })).publicUrl).toBe('http://enroll.bank.example.jp');
    expect(loadConfig(testEnv({ CERTFLOW_PUBLIC_URL: 'https://enroll.bank.example.jp' })).publicUrl).toBe('https://enroll.bank.example.jp');
    for (const loopback of ['http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000']) {
      expect(loadConfig(testEnv({ CERTFLOW_PUBLIC_URL: loopback })).publicUrl).toBe(loopback);
    }
  });

  it('when a CA key store is pkcs11, then the token and the PIN (value or file) are required, and each profile may choose its own store', () => {
    expect(loadConfig(testEnv({})).ca.keyStore).toEqual({ where: { kdanshinnet: 'file', nissay: 'file', operators: 'file' } });
    expect(() => loadConfig(testEnv({ CERTFLOW_CA_KEY_STORE_NISSAY: 'pkcs11' }))).toThrow(
      /CERTFLOW_PKCS11_TOKEN_LABEL or CERTFLOW_PKCS11_SLOT: give exactly one[\s\S]*CERTFLOW_PKCS11_PIN or CERTFLOW_PKCS11_PIN_FILE: give exactly one/,
    );
    expect(() => loadConfig(testEnv({ CERTFLOW_CA_KEY_STORE: 'pkcs11', CERTFLOW_PKCS11_SLOT: '3', CERTFLOW_PKCS11_PIN_FILE: '/nonexistent/pin' }))).toThrow(
      'CERTFLOW_PKCS11_PIN_FILE: /nonexistent/pin does not exist',
    );
    expect(() => loadConfig(testEnv({ CERTFLOW_CA_KEY_STORE: 'hsm' }))).toThrow(/CERTFLOW_CA_KEY_STORE/);
    const pinFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-pin-')), 'pin');
    fs.writeFileSync(pinFile, '123456\n');
    const config = loadConfig(testEnv({ CERTFLOW_CA_KEY_STORE: 'pkcs11', CERTFLOW_CA_KEY_STORE_OPERATORS: 'file', CERTFLOW_PKCS11_TOKEN_LABEL: 'certflow-ca', CERTFLOW_PKCS11_PIN_FILE: pinFile }));
    expect(config.ca.keyStore).toEqual({
      where: { kdanshinnet: 'pkcs11', nissay: 'pkcs11', operators: 'file' },
      pkcs11: { module: '/usr/lib/softhsm/libsofthsm2.so', token: { label: 'certflow-ca' }, pin: '123456' },
    });
    fs.rmSync(path.dirname(pinFile), { recursive: true, force: true });
    expect(loadConfig(testEnv({ CERTFLOW_CA_KEY_STORE: 'pkcs11', CERTFLOW_PKCS11_SLOT: '0', CERTFLOW_PKCS11_PIN: '9999', CERTFLOW_PKCS11_MODULE: '/opt/hsm/lib.so' })).ca.keyStore.pkcs11).toEqual({
      module: '/opt/hsm/lib.so',
      token: { slot: 0 },
      pin: '9999',
    });
  });

  it('when PostgreSQL is chosen without a URL, then the missing value is named', () => {
    expect(() => loadConfig(testEnv({ CERTFLOW_DB_CLIENT: 'pg' }))).toThrow(/CERTFLOW_DB_URL/);
  });

  it('when the CA passphrase is missing, then it is named', () => {
    const env = testEnv();
    delete (env as Record<string, string | undefined>).CERTFLOW_CA_PASSPHRASE;
    expect(() => loadConfig(env)).toThrow(/CERTFLOW_CA_PASSPHRASE/);
  });

  it('when nothing says otherwise, then the process runs both roles, generates its TLS certificate and serves ops on 9464', () => {
    const config = loadConfig(testEnv());
    expect(config.role).toBe('all');
    expect(config.processName).toBeUndefined();
    expect(config.http.serverCertificateFiles).toBeUndefined();
    expect(config.http.serverCertificateDir).toBe(path.join(config.dataDir, 'tls'));
    expect(config.temporal.tls).toBeUndefined();
    expect(config.ops.port).toBe(9464);
  });

  it('when a role, certificate files, Temporal mTLS and an ops port are given, then they are read, paths made absolute', () => {
    const config = loadConfig(
      testEnv({
        CERTFLOW_ROLE: 'worker',
        CERTFLOW_PROCESS_NAME: 'worker-2',
        CERTFLOW_TLS_CERT_FILE: 'tls/server.pem',
        CERTFLOW_TLS_KEY_FILE: '/etc/certflow/server-key.pem',
        CERTFLOW_TEMPORAL_TLS_CERT_FILE: '/etc/certflow/temporal.pem',
        CERTFLOW_TEMPORAL_TLS_KEY_FILE: '/etc/certflow/temporal.key',
        CERTFLOW_TEMPORAL_TLS_CA_FILE: '/etc/certflow/temporal-ca.pem',
        CERTFLOW_TEMPORAL_TLS_SERVER_NAME: 'certflow.a1b2c.tmprl.cloud',
        CERTFLOW_OPS_PORT: '9500',
      }),
    );
    expect(config.role).toBe('worker');
    expect(config.processName).toBe('worker-2');
    expect(config.http.serverCertificateFiles).toEqual({ certFile: path.resolve('tls/server.pem'), keyFile: '/etc/certflow/server-key.pem' });
    expect(config.temporal.tls).toEqual({
      clientCertFile: '/etc/certflow/temporal.pem',
      clientKeyFile: '/etc/certflow/temporal.key',
      caFile: '/etc/certflow/temporal-ca.pem',
      serverName: 'certflow.a1b2c.tmprl.cloud',
    });
    expect(config.ops.port).toBe(9500);
  });

  it('when only a CA file is given for Temporal, then the connection is TLS without a client certificate', () => {
    const config = loadConfig(testEnv({ CERTFLOW_TEMPORAL_TLS_CA_FILE: '/etc/certflow/temporal-ca.pem' }));
    expect(config.temporal.tls).toEqual({ caFile: '/etc/certflow/temporal-ca.pem' });
  });

  it.each([
    [{ CERTFLOW_TLS_CERT_FILE: 'a.pem' }, 'CERTFLOW_TLS_KEY_FILE: is required when CERTFLOW_TLS_CERT_FILE is set'],
    [{ CERTFLOW_TLS_KEY_FILE: 'a.key' }, 'CERTFLOW_TLS_CERT_FILE: is required when CERTFLOW_TLS_KEY_FILE is set'],
    [{ CERTFLOW_TEMPORAL_TLS_CERT_FILE: 'c.pem' }, 'CERTFLOW_TEMPORAL_TLS_KEY_FILE: is required when CERTFLOW_TEMPORAL_TLS_CERT_FILE is set'],
    [{ CERTFLOW_TEMPORAL_TLS_KEY_FILE: 'c.key' }, 'CERTFLOW_TEMPORAL_TLS_CERT_FILE: is required when CERTFLOW_TEMPORAL_TLS_KEY_FILE is set'],
  ])('when one half of a certificate pair is given (%o), then the other half is named', (overrides, message) => {
    expect(() => loadConfig(testEnv(overrides))).toThrow(message);
  });

  it('when the workflow cache and key pool sizes are given, then they are read; a cache of 1 or a negative pool is named', () => {
    expect(loadConfig(testEnv()).temporal.workflowCacheSize).toBe(500);
    expect(loadConfig(testEnv()).keyPool.size).toBe(8);
    const config = loadConfig(testEnv({ CERTFLOW_WORKFLOW_CACHE_SIZE: '2', CERTFLOW_KEY_POOL_SIZE: '0' }));
    expect(config.temporal.workflowCacheSize).toBe(2);
    expect(config.keyPool.size).toBe(0);
    expect(() => loadConfig(testEnv({ CERTFLOW_KEY_POOL_SIZE: '-1' }))).toThrow(/CERTFLOW_KEY_POOL_SIZE/);
    expect(() => loadConfig(testEnv({ CERTFLOW_WORKFLOW_CACHE_SIZE: '1' }))).toThrow(/CERTFLOW_WORKFLOW_CACHE_SIZE: must be 0 \(no cache\) or at least 2/);
  });

  it('when the mail rate is given, then it is read (decimals too); 0, a negative or a word is named', () => {
    expect(loadConfig(testEnv()).smtp.maxMailsPerSecond).toBe(50);
    expect(loadConfig(testEnv({ CERTFLOW_MAIL_MAX_PER_SECOND: '0.5' })).smtp.maxMailsPerSecond).toBe(0.5);
    for (const bad of ['0', '-3', 'fast', '20000']) {
      expect(() => loadConfig(testEnv({ CERTFLOW_MAIL_MAX_PER_SECOND: bad }))).toThrow(/CERTFLOW_MAIL_MAX_PER_SECOND/);
    }
  });

  it('when the role, the process name or the ops port is bad, then each is named', () => {
    const attempt = () => loadConfig(testEnv({ CERTFLOW_ROLE: 'both', CERTFLOW_PROCESS_NAME: 'web 1', CERTFLOW_OPS_PORT: '-1' }));
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['CERTFLOW_OPS_PORT', 'CERTFLOW_PROCESS_NAME', 'CERTFLOW_ROLE']);
    }
  });

  it('when the secrets are missing, then each is named as not set, together with any other bad value', () => {
    const env: Record<string, string | undefined> = testEnv({ CERTFLOW_TLS_CERT_FILE: 'a.pem' });
    for (const name of ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET']) delete env[name];
    try {
      loadConfig(env);
      throw new Error('loadConfig accepted a configuration without secrets');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      for (const name of ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET']) {
        expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${name}: is not set`)));
      }
      expect(problems).toContainEqual(expect.stringMatching(/^CERTFLOW_TLS_KEY_FILE: is required/));
    }
  });
});
