/**
 * Shell completion scripts, generated from the command table so that they never list a
 * command that does not exist or miss one: the first word, the second of a group (`plan
 * check`), and the options every command takes. Written by hand rather than with a
 * completion library: three small templates, and the table is the only input.
 */

export const shells = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof shells)[number];

const globalOptions = ['--plan', '--json', '--help'];

/** First words, and for each group the words that may follow it. */
export function commandWords(names: readonly string[]): { first: string[]; groups: Map<string, string[]> } {
  const groups = new Map<string, string[]>();
  const first: string[] = [];
  for (const name of names) {
    const [head, second] = name.split(' ') as [string, string | undefined];
    if (!first.includes(head)) first.push(head);
    if (second !== undefined) groups.set(head, [...(groups.get(head) ?? []), second]);
  }
  return { first, groups };
}

/** The script for `shell`, completing the commands named (`plan check`: a group and its second word). */
export function completionScript(shell: Shell, names: readonly string[]): string {
  const { first, groups } = commandWords(names);
  switch (shell) {
    case 'bash':
      return [
        '# lifeboat completion for bash: eval "$(lifeboat completion bash)"',
        '_lifeboat() {',
        '  local cur=${COMP_WORDS[COMP_CWORD]}',
        '  if [[ $cur == -* ]]; then',
        `    COMPREPLY=($(compgen -W "${globalOptions.join(' ')}" -- "$cur")); return`,
        '  fi',
        '  if (( COMP_CWORD == 1 )); then',
        `    COMPREPLY=($(compgen -W "${first.join(' ')}" -- "$cur")); return`,
        '  fi',
        '  if (( COMP_CWORD == 2 )); then',
        '    case ${COMP_WORDS[1]} in',
        ...[...groups].map(
          ([group, words]) => `      ${group}) COMPREPLY=($(compgen -W "${words.join(' ')}" -- "$cur"));;`,
        ),
        '    esac',
        '  fi',
        '}',
        'complete -o default -F _lifeboat lifeboat',
        '',
      ].join('\n');
    case 'zsh':
      return [
        '#compdef lifeboat',
        '# lifeboat completion for zsh: eval "$(lifeboat completion zsh)"',
        '_lifeboat() {',
        '  if [[ $words[CURRENT] == -* ]]; then',
        `    compadd -- ${globalOptions.join(' ')}; return`,
        '  fi',
        '  if (( CURRENT == 2 )); then',
        `    compadd -- ${first.join(' ')}; return`,
        '  fi',
        '  if (( CURRENT == 3 )); then',
        '    case $words[2] in',
        ...[...groups].map(([group, words]) => `      ${group}) compadd -- ${words.join(' ')};;`),
        '      *) _files;;',
        '    esac',
        '    return',
        '  fi',
        '  _files',
        '}',
        'compdef _lifeboat lifeboat',
        '',
      ].join('\n');
    case 'fish':
      return [
        '# lifeboat completion for fish: lifeboat completion fish | source',
        'complete -c lifeboat -f',
        ...first.map((word) => `complete -c lifeboat -n __fish_use_subcommand -a ${word}`),
        ...[...groups].flatMap(([group, words]) =>
          words.map((word) => `complete -c lifeboat -n "__fish_seen_subcommand_from ${group}" -a ${word}`),
        ),
        'complete -c lifeboat -l plan -r -F -d "plan file"',
        'complete -c lifeboat -l json -d "JSON output"',
        'complete -c lifeboat -l help -d "usage"',
        '',
      ].join('\n');
  }
}
