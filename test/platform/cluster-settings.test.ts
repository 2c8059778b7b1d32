// The cluster's settings (CERTFLOW_CLUSTER_*), validated before anything starts.
import { clusterOptionsFromEnv } from '../../scripts/cluster/start-cluster';
import { TEMPORAL_HIGHEST_PORT, TEMPORAL_INTERNAL_PORTS } from '../../scripts/cluster/temporal-server';

describe('clusterOptionsFromEnv', () => {
  it('when the Temporal port would put its service ports above 32767, then it is refused naming the setting (the server would die at start)', () => {
    const highest = TEMPORAL_HIGHEST_PORT - TEMPORAL_INTERNAL_PORTS;
    expect(clusterOptionsFromEnv({ CERTFLOW_CLUSTER_TEMPORAL_PORT: String(highest) }).ports!.temporal).toBe(highest);
    expect(() => clusterOptionsFromEnv({ CERTFLOW_CLUSTER_TEMPORAL_PORT: String(highest + 1) })).toThrow(
      /CERTFLOW_CLUSTER_TEMPORAL_PORT: must leave its 8 service ports at or below 32767/,
    );
  });

  it('when nothing is set, then the documented defaults apply and mail goes to MailDev', () => {
    expect(clusterOptionsFromEnv({})).toMatchObject({ workers: 2, webs: 2, mailbox: true, ports: { http: 8080, tls: 8443, temporal: 7243, postgres: 55432 } });
  });
});
