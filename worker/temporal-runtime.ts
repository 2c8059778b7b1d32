// The Temporal SDK's process-wide runtime: its logs into certflow's logger and, when asked, its own worker and
// connection metrics (poll, task slot, latency…) in Prometheus format on a port of their own.
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../infra/logger';

export interface TemporalRuntimeOptions {
  /** host:port where the SDK serves /metrics itself, e.g. 0.0.0.0:9465; without it the SDK records no metrics. */
  metricsAddress?: string;
  /** The process's logger: the SDK's messages (its native core's included) go there at its level. */
  logger: Logger;
}

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };

/**
 * Installs the runtime. Call it once per process, before the first NativeConnection or Worker (the SDK builds a
 * default runtime on first use and refuses a second install, with an IllegalStateError).
 */
export function installTemporalRuntime({ metricsAddress, logger }: TemporalRuntimeOptions): Runtime {
  const level = LEVELS[logger.level] ?? 'INFO';
  const sdkLogger = new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
    const method = entryLevel.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method]({ temporal: true, ...meta }, message);
  });
  return Runtime.install({
    logger: sdkLogger,
    // certflow's lifecycle stops the worker, then its connection, in order; the SDK's own SIGINT handler would start
    // draining first and make both steps fail (IllegalStateError) on Ctrl-C.
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: level === 'TRACE' || level === 'DEBUG' ? level : 'WARN', other: 'ERROR' }), forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
}
