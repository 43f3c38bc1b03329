/** Recovery procedures: each runbook with its phases, time boxes and numbered steps. */
import type { Plan, Step } from '../../schema.js';
import {
  capitalize,
  datasetName,
  humanDuration,
  humanRange,
  humanTimebox,
  list,
  partyName,
  runbookName,
  scenarioName,
  sentence,
} from '../format.js';
import {
  code,
  codeBlock,
  fields,
  heading,
  joined,
  numbered,
  paragraph,
  ref,
  strong,
  text,
  type Block,
  type Inline,
  type ListItem,
  type RenderInput,
} from '../model.js';

export function runbooksSection({ plan }: RenderInput): Block[] {
  const runbooks = Object.entries(plan.runbooks ?? {});
  if (runbooks.length === 0) return [];
  const blocks: Block[] = [heading(2, 'Recovery Procedures')];
  for (const [id, runbook] of runbooks) {
    blocks.push(heading(3, runbook.name ?? id, `runbook:${id}`));
    if (runbook.description !== undefined) blocks.push(paragraph(text(runbook.description)));
    const usedBy = Object.entries(plan.scenarios ?? {})
      .filter(([, s]) => s.runbooks?.includes(id))
      .map(([sid]) => [ref(`scenario:${sid}`, scenarioName(plan, sid))]);
    blocks.push(
      ...fields([
        ['Estimated duration', humanRange(runbook.estimated_duration)],
        ['Recovers from', usedBy.length === 0 ? undefined : joined(usedBy)],
      ]),
    );
    if (runbook.steps?.length) blocks.push(stepList(plan, runbook.steps));
    runbook.phases?.forEach((phase, i) => {
      const timebox = humanTimebox(phase.timebox);
      blocks.push(heading(4, `Phase ${i + 1}: ${phase.name}${timebox === undefined ? '' : ` (${timebox})`}`));
      blocks.push(stepList(plan, phase.steps));
    });
  }
  return blocks;
}

export function stepList(plan: Plan, steps: Step[]): Block {
  return numbered(steps.map((step) => stepItem(plan, step)));
}

function stepItem(plan: Plan, step: Step): ListItem {
  const action = describeAction(plan, step);
  const content: Inline[] = [
    // A conditional step read as unconditional is how a tidy-up deletes what it should not.
    ...(step.when === undefined ? [] : [strong('Condition:'), text(` ${step.when} — `)]),
    ...(step.name !== undefined
      ? [strong(step.name), ...(action.inline.length > 0 ? [text(': '), ...action.inline] : [])]
      : action.inline.length > 0
        ? action.inline
        : [text(step.description ?? 'Step')]),
  ];
  const meta = [
    step.owner === undefined ? undefined : `owner: ${partyName(plan, step.owner)}`,
    step.timeout === undefined ? undefined : `time limit ${humanDuration(step.timeout)}`,
    step.on_failure === undefined ? undefined : `on failure: ${step.on_failure}`,
    step.retries === undefined ? undefined : `${step.retries} ${step.retries === 1 ? 'retry' : 'retries'}`,
  ].filter((m): m is string => m !== undefined);
  if (meta.length > 0) content.push(text(` (${meta.join('; ')})`));
  const describedInline = step.name === undefined && action.inline.length === 0;
  const children = [
    ...(step.description !== undefined && !describedInline ? [paragraph(text(step.description))] : []),
    ...action.blocks,
  ];
  return children.length === 0 ? { content } : { content, children };
}

/** What a step does, in words (and the command or checklist under it). */
function describeAction(plan: Plan, step: Step): { inline: Inline[]; blocks: Block[] } {
  const inline: Inline[] = [];
  const blocks: Block[] = [];
  const say = (...parts: Inline[]) => inline.push(...parts);

  if (step.run !== undefined) {
    if (step.name === undefined) say(text('Run:'));
    blocks.push(codeBlock('bash', step.run));
  }
  if (step.http !== undefined) {
    say(text('Call '), code(`${step.http.method ?? 'GET'} ${step.http.url}`));
    if (step.http.body !== undefined) {
      blocks.push(
        typeof step.http.body === 'string'
          ? codeBlock('text', step.http.body)
          : codeBlock('json', JSON.stringify(step.http.body, null, 2)),
      );
    }
  }
  if (step.sql !== undefined) {
    say(
      text('Query '),
      strong(datasetName(plan, step.sql.dataset)),
      text(step.sql.database === undefined ? ':' : ` (database ${step.sql.database}):`),
    );
    blocks.push(codeBlock('sql', step.sql.query));
  }
  if (step.wait_for !== undefined) {
    const { probe, status, timeout } = step.wait_for;
    say(text('Wait until '), strong(plan.probes?.[probe]?.name ?? probe), text(` is ${status ?? 'up'}`));
    if (timeout !== undefined) say(text(` (at most ${humanDuration(timeout)})`));
  }
  if (step.approve !== undefined) {
    const { by, count, timeout } = step.approve;
    const who = sentence(list(by).map((id) => partyName(plan, id)));
    say(
      strong('Approval required'),
      text(`: ${count !== undefined && count > 1 ? `${count} approvals` : 'approval'} from ${who}`),
    );
    if (timeout !== undefined) say(text(` within ${humanDuration(timeout)}`));
  }
  if (step.notify !== undefined) {
    const { template, to, message } = step.notify;
    const recipients = list(to).map((id) => partyName(plan, id));
    say(text(recipients.length === 0 ? 'Notify' : `Notify ${sentence(recipients)}`));
    if (template !== undefined)
      say(
        text(' with the template '),
        ref(`template:${template}`, plan.templates?.[template]?.name ?? template),
      );
    if (message !== undefined) say(text(`: “${message}”`));
  }
  if (step.restore !== undefined) {
    const { dataset, at, to } = step.restore;
    say(text('Restore '), strong(datasetName(plan, dataset)));
    say(text(at === undefined || at === 'latest' ? ' from the latest backup' : ` as of ${at}`));
    if (to !== undefined) say(text(to === 'source' ? ' over the original (live) data' : ` to ${to}`));
  }
  if (step.failover !== undefined) {
    say(
      text('Fail over '),
      strong(datasetName(plan, step.failover.dataset)),
      text(` to ${step.failover.to ?? 'its standby'}`),
    );
  }
  if (step.switchover !== undefined) {
    say(
      text('Switch over '),
      strong(datasetName(plan, step.switchover.dataset)),
      text(` to ${step.switchover.to ?? 'its standby'}`),
    );
  }
  if (step.traffic !== undefined) {
    const { switch: id, to, weights, interval } = step.traffic;
    say(text('Move traffic with '), strong(id), text(to === undefined ? '' : ` to ${to}`));
    if (weights?.length) {
      say(text(`, in stages ${weights.map((w) => `${w}%`).join(' → ')}`));
      if (interval !== undefined) say(text(`, ${humanDuration(interval)} apart`));
    }
  }
  if (step.flag !== undefined) {
    say(
      text('Set feature flags '),
      ...joined(Object.entries(step.flag).map(([k, v]) => [code(`${k}=${String(v)}`)])),
    );
  }
  if (step.check !== undefined)
    say(text('Run the data validation checks of '), strong(datasetName(plan, step.check)));
  if (step.status_page !== undefined) {
    const { status, message, components } = step.status_page;
    say(text('Status page: '), strong(capitalize(status)));
    if (message !== undefined) say(text(` — “${message}”`));
    if (components?.length) say(text(` (${components.join(', ')})`));
  }
  if (step.runbook !== undefined) {
    say(
      text('Run the procedure '),
      plan.runbooks?.[step.runbook]
        ? ref(`runbook:${step.runbook}`, runbookName(plan, step.runbook))
        : text(step.runbook),
    );
  }
  if (step.manual !== undefined) say(text(step.manual));
  if (step.checklist !== undefined) {
    if (inline.length === 0 && step.name === undefined) say(text('Checklist:'));
    blocks.push({ kind: 'checklist', items: step.checklist.map((item) => [text(item)]) });
  }
  if (step.wait !== undefined) say(text(`Wait ${humanDuration(step.wait)}`));
  return { inline, blocks };
}
