import type { Server } from 'restify';
import type { App } from './app';

/**
 * A clean restart (docs/operations.md, "Restarts and deploys"). On SIGTERM or SIGINT:
 *  1. /readyz answers 503 at once, so the balancer stops sending here; the listener stays open and
 *     whatever still arrives is served (the balancer needs a probe period or two to notice);
 *  2. requests, turns and late replies ("checking…" results) in flight finish, within
 *     SHUTDOWN_GRACE_MS counted from the signal;
 *  3. the listener closes, idle keep-alive connections with it (they would otherwise hold the
 *     process for their keep-alive timeout);
 *  4. the turns this instance holds in the shared queue are let go (no other instance waits for a
 *     lease to run out), Redis is closed, and the process exits 0.
 * Work still running when the grace period ends is abandoned: its count is logged, the leases are
 * released all the same, and the exit code is 1 (the operator sees that something was cut short).
 * A second signal during the drain stops at once, the same way, with exit code 1: that is what a
 * second Ctrl-C means to a developer, and what an impatient orchestrator asks for.
 */

/** What releasing the leases and closing Redis may take at most, once the drain is over. */
const CLOSE_BUDGET_MS = 3000;
/** How often idle keep-alive connections are cut while the last requests finish. */
const IDLE_SWEEP_MS = 50;

export interface ShutdownDeps {
  server: Server;
  app: Pick<App, 'inFlight' | 'log' | 'releaseTurns' | 'close'>;
  graceMs: number;
  /** process.exit; replaced in tests. */
  exit: (code: number) => void;
}

export class GracefulShutdown {
  private stopping = false;
  private forced = false;
  /** When the first signal came: the grace period and the logged duration count from it. */
  private startedAt = 0;

  constructor(private readonly deps: ShutdownDeps) {}

  /** Calls `stop` on SIGTERM and SIGINT (a second one forces the stop). */
  listen(): void {
    process.on('SIGTERM', () => this.onSignal('SIGTERM'));
    process.on('SIGINT', () => this.onSignal('SIGINT'));
  }

  onSignal(signal: NodeJS.Signals): void {
    if (!this.stopping) {
      this.stopping = true;
      this.startedAt = Date.now();
      void this.stop(signal);
      return;
    }
    if (this.forced) return;
    this.forced = true;
    this.deps.app.log.warn({ event: 'shutdown.forced', signal, inFlight: this.deps.app.inFlight.snapshot() }, 'second signal: stopping now, work in flight is abandoned');
    void this.finish({ drained: false, exitCode: 1 });
  }

  private async stop(signal: NodeJS.Signals): Promise<void> {
    const { app, graceMs } = this.deps;
    const deadline = this.startedAt + graceMs;
    app.log.info({ event: 'shutdown.start', signal, graceMs, inFlight: app.inFlight.snapshot() }, 'shutting down: not ready any more, finishing the work in flight');
    const first = await app.inFlight.drain(deadline);
    if (this.forced) return;
    await this.closeListener(deadline);
    // A request served while the listener closed may have left a late reply behind.
    const last = first.drained ? await app.inFlight.drain(deadline) : first;
    if (this.forced) return;
    await this.finish({ drained: last.drained, exitCode: last.drained ? 0 : 1 });
  }

  /** Stops accepting connections; cuts idle keep-alive ones as they appear, every one at `deadline`. */
  private async closeListener(deadline: number): Promise<void> {
    const http = this.deps.server.server;
    if (!http.listening) return;
    await new Promise<void>((resolve) => {
      const sweep = setInterval(() => http.closeIdleConnections(), IDLE_SWEEP_MS);
      const cut = setTimeout(() => http.closeAllConnections(), Math.max(0, deadline - Date.now()));
      this.deps.server.close(() => {
        clearInterval(sweep);
        clearTimeout(cut);
        resolve();
      });
      http.closeIdleConnections();
    });
  }

  private async finish({ drained, exitCode }: { drained: boolean; exitCode: number }): Promise<void> {
    const { app, server } = this.deps;
    const abandoned = app.inFlight.snapshot();
    if (server.server.listening) {
      server.close();
    }
    server.server.closeAllConnections();
    // Leases let go and Redis closed, within a bound: a Redis that does not answer must not keep
    // the process past what the orchestrator allows.
    let leasesReleased = 0;
    const closing = (async () => {
      leasesReleased = await app.releaseTurns();
      await app.close();
      return true;
    })().catch(() => false);
    const closed = await Promise.race([closing, new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_BUDGET_MS).unref())]);
    const summary = { event: 'shutdown.end', drained, ms: Date.now() - this.startedAt, leasesReleased, closed, exitCode, ...(drained ? {} : { abandoned }) };
    if (drained && closed) app.log.info(summary, 'shut down cleanly');
    else app.log.warn(summary, drained ? 'shut down; leases or Redis not closed cleanly' : 'shut down with work still in flight');
    this.deps.exit(exitCode);
  }
}
