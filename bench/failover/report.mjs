// The Markdown form of the failover bench's report: one row per system and setting, then
// the ratios, then where and with what it ran.

export function markdownReport(report) {
  const seconds = (x) => (x === null || x === undefined ? 'failed' : x.toFixed(2));
  const lines = [
    `Failover bench, ${report.date.slice(0, 10)}, ${report.sync ? 'synchronous' : 'asynchronous'} standby, ${report.runs_per_setting} runs per setting: \`${report.command}\``,
    '',
    "| System | Setting | Fault | Recovery | Median RTO s | Each run's RTO s | Median s to a primary | Lost acknowledged writes (per run) | Failed runs |",
    '| --- | --- | --- | --- | ---: | --- | ---: | --- | ---: |',
  ];
  for (const s of report.settings) {
    lines.push(
      `| ${s.system} | ${s.setting} | ${s.fault} | ${outcomes(s.outcomes)} | **${seconds(s.median_rto_seconds)}** | ${s.rto_seconds.map(seconds).join(', ')} | ${seconds(s.median_primary_back_seconds)} | ${s.lost_writes.map((n) => n ?? '?').join(', ')} | ${s.failed_runs} |`,
    );
  }
  lines.push(
    '',
    'RTO: from the fault to the first write acknowledged through the client endpoint (pgbouncer for Lifeboat, HAProxy for Patroni). "s to a primary": from the fault until a PostgreSQL takes writes as primary (Patroni: asked directly every 100 ms; Lifeboat: RTO minus its route and reconnect steps); the rest of the RTO is routing and reconnecting.',
  );
  lines.push('', '| Ratio of median RTOs | Value | Goal |', '| --- | ---: | --- |');
  for (const [name, value] of Object.entries(report.ratios)) {
    const goal = name.includes('patroni-default') ? (value <= 1 / 3 ? '≤ 1/3: met' : '≤ 1/3: NOT met') : '';
    lines.push(`| ${name} | ${value.toFixed(3)} (1/${(1 / value).toFixed(1)}) | ${goal} |`);
  }
  const m = report.machine;
  const v = report.versions;
  lines.push(
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, Linux ${m.kernel}; load average ${m.load_average_before.join(' / ')} before, ${m.load_average_after.join(' / ')} after.`,
    `Versions: Node ${v.node}, Lifeboat ${v.lifeboat}, ${v.patroni}, ${v.etcd}, ${v.haproxy}, ${v.postgres}; Patroni's subreaper: ${v.patroni_subreaper}.`,
    '',
  );
  return lines.join('\n');
}

function outcomes(list) {
  const counts = {};
  for (const o of list) counts[o] = (counts[o] ?? 0) + 1;
  return Object.entries(counts)
    .map(([o, n]) => (n === list.length ? o : `${o} ×${n}`))
    .join(', ');
}
