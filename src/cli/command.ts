/** The shape every CLI command module has: parse its own arguments, do the work, return an exit code. */
export interface CommandContext {
  /** `--json` was given: print one JSON document on stdout and nothing else there. */
  json: boolean;
  /** Every command's words (`plan check`), for commands that list them (completion). */
  commandNames?: readonly string[];
}

export interface CommandModule {
  run(args: string[], context: CommandContext): Promise<number>;
}
