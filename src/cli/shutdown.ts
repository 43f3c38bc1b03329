/**
 * Who ends the process on SIGINT/SIGTERM. By default the CLI entry leaves two seconds after
 * the signal, enough for child processes' cleanup. A command whose work must not be cut off
 * half-way (a failover in progress, a scheduler recording an interrupted run) takes the
 * shutdown over and returns when it is done.
 */
let owned = false;

export function ownShutdown(): void {
  owned = true;
}

export function shutdownOwned(): boolean {
  return owned;
}
