// One kill-the-primary drill against Patroni, measured as Lifeboat's drill measures itself
// (src/drill/failover.ts): pgbench load and Lifeboat's own writer through the client endpoint
// (HAProxy here, pgbouncer there), the same SIGKILL of the leader's PostgreSQL, RTO from the
// fault to the first write acknowledged through the endpoint after it, and acknowledged ids
// missing on the leader afterwards.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentLeader, killNode, PG_BIN, startCluster } from './patroni.mjs';
import { waitFor } from './processes.mjs';

/**
 * fault: 'crash' kills the leader's postmaster and children (Patroni stays and reacts);
 * 'node' kills the leader's Patroni with its PostgreSQL (nobody on that node reacts).
 * Returns the run's figures; a run that does not recover within `recoverTimeoutMs` comes back
 * with `rto_seconds: null` and its `error`, never hangs.
 */
export async function runPatroniDrill(lifeboat, options) {
  const { query, killPostgres, startLoad, startWriter, writesTableSql, lostWrites } = lifeboat;
  const { progress, fault, recoverTimeoutMs = 120_000, warmupMs = 1500 } = options;
  const cluster = await startCluster(options);
  let writer;
  let load;
  try {
    const [node0] = cluster.nodes;
    const admin = cluster.haproxy.url('postgres');
    const url = cluster.haproxy.url('drill');
    await waitFor(
      'HAProxy routing to the leader',
      async () =>
        Number((await query(admin, 'SELECT inet_server_port() AS port', { timeoutMs: 2000 }))[0]?.port) ===
        node0.pgPort,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Patroni's /replica answers 200 as soon as node1 runs as a replica; it streams only once
    // the leader has created its slot, on a later loop. Lifeboat's drill, too, waits for the
    // standby to stream before the fault.
    await waitFor(
      'node1 streaming from node0',
      async () =>
        (
          await query(
            `postgres://postgres@127.0.0.1:${node0.pgPort}/postgres`,
            `SELECT 1 FROM pg_stat_replication WHERE application_name = 'node1' AND state = 'streaming'`,
            { timeoutMs: 2000 },
          )
        ).length === 1,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await query(admin, 'CREATE DATABASE drill');
    await query(url, writesTableSql());
    execFileSync(
      join(PG_BIN, 'pgbench'),
      [
        '-i',
        '-q',
        '-s',
        '1',
        '-h',
        '127.0.0.1',
        '-p',
        String(cluster.haproxy.port),
        '-U',
        'postgres',
        'drill',
      ],
      { stdio: 'ignore', timeout: 120_000 },
    );
    load = startLoad({ host: '127.0.0.1', port: cluster.haproxy.port, database: 'drill' });
    writer = startWriter(url);
    if (!(await writer.waitForAck(() => true, 30_000)))
      throw new Error('the writer got no acknowledgement before the fault');
    await sleep(warmupMs);
    // Patroni acts once per loop (loop_wait): a fault at a fixed point of the set-up would
    // always land at the same phase of that loop and give the same RTO run after run.
    const phaseDelayMs = Math.random() * options.timers.loop_wait * 1000;
    await sleep(phaseDelayMs);
    const leader = await currentLeader(cluster);
    if (!leader) throw new Error('no leader before the fault');
    const replication = await query(
      `postgres://postgres@127.0.0.1:${leader.pgPort}/postgres`,
      'SELECT state, sync_state FROM pg_stat_replication',
    );

    // The writer is serial: the write in flight at the fault (id lastAcked + 1) may still be
    // answered from a socket buffer after it; any later id was sent after the fault, so its
    // acknowledgement proves a server took writes again.
    const lastAcked = writer.acks.at(-1)?.id ?? 0;
    const faultAt = Date.now();
    if (fault === 'crash') killPostgres(leader.dataDir);
    else killNode(leader);
    progress(`${fault} of ${leader.name} after ${writer.acks.length} acknowledged writes`);
    const primaryBack = watchForPrimary(query, cluster.nodes, recoverTimeoutMs);
    const first = await writer.waitForAck((a) => a.at > faultAt && a.id > lastAcked + 1, recoverTimeoutMs);
    primaryBack.stop();
    // The first acknowledgement itself proves a primary, should it come between two probes.
    const writable = Math.min((await primaryBack.found) ?? Infinity, first?.at ?? Infinity);
    await sleep(300);
    await writer.stop();
    await load.stop();
    const after = await waitFor('a leader after the fault', () => currentLeader(cluster), {
      timeoutMs: 15_000,
    }).catch(() => undefined);
    const lost = after
      ? await lostWrites(writer.acks, `postgres://postgres@127.0.0.1:${after.pgPort}/drill`, faultAt).catch(
          () => undefined,
        )
      : undefined;
    const servedBy = first ? cluster.nodes.find((n) => n.pgPort === first.port) : undefined;
    return {
      rto_seconds: first ? round((first.at - faultAt) / 1000) : null,
      fault_phase_delay_seconds: round(phaseDelayMs / 1000),
      // Patroni's part of the RTO: until a PostgreSQL answers as a primary, asked directly.
      // The rest is HAProxy's health check and the client's reconnect through it.
      primary_back_seconds: Number.isFinite(writable) ? round((writable - faultAt) / 1000) : null,
      ...(first
        ? {}
        : { error: `no write acknowledged through HAProxy within ${recoverTimeoutMs / 1000} s` }),
      outcome: !servedBy ? 'not recovered' : servedBy === leader ? 'restarted in place' : 'failed over',
      acknowledged_writes: writer.acks.length,
      lost_writes: lost?.count ?? null,
      lost_ids: lost?.ids ?? [],
      old_leader: leader.name,
      leader_after: after?.name ?? null,
      replication_before_fault: replication.map((r) => `${r.state}/${r.sync_state}`).join(', ') || 'none',
      writer_errors: writer.errors,
    };
  } finally {
    await writer?.stop();
    await load?.stop();
    cluster.stop();
  }
}

/**
 * Asks every node's PostgreSQL directly, every 100 ms, whether it is a primary (not in
 * recovery); `found` resolves with the first time one was, or undefined once stopped.
 */
function watchForPrimary(query, nodes, timeoutMs) {
  let stopped = false;
  const deadline = Date.now() + timeoutMs;
  const found = (async () => {
    while (!stopped && Date.now() < deadline) {
      const started = Date.now();
      const answers = await Promise.all(
        nodes.map((n) =>
          query(`postgres://postgres@127.0.0.1:${n.pgPort}/postgres`, 'SELECT pg_is_in_recovery() AS r', {
            timeoutMs: 500,
          }).catch(() => undefined),
        ),
      );
      if (answers.some((rows) => rows?.[0]?.r === false)) return started;
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
    return undefined;
  })();
  return { found, stop: () => (stopped = true) };
}

function round(seconds) {
  return Math.round(seconds * 1000) / 1000;
}
