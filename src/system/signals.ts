/**
 * SIGINT and SIGTERM turned into an AbortSignal: the engine's long work (a watch, a drill,
 * throwaway servers) takes a signal and stays free of process-wide listeners; whoever runs
 * it (the CLI, a server) decides that an interrupt aborts it.
 */
export const shutdownSignals = ['SIGINT', 'SIGTERM'] as const;

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Stops listening; the signal stays as it is. */
  dispose(): void;
}

/**
 * Listens until disposed. `onSignal` runs on every signal received, before the abort,
 * `first` telling whether this one aborts: a second Ctrl-C finds the work already stopping.
 */
export function interruptOnSignals(onSignal?: (signal: NodeJS.Signals, first: boolean) => void): Interrupt {
  const controller = new AbortController();
  const listener = (signal: NodeJS.Signals) => {
    onSignal?.(signal, !controller.signal.aborted);
    controller.abort();
  };
  for (const name of shutdownSignals) process.on(name, listener);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of shutdownSignals) process.off(name, listener);
    },
  };
}
