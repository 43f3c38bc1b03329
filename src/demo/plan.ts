/**
 * The plan the demo writes for its throwaway servers: four datasets with RPOs, cadences
 * inside them, retention and verify checks that prove the data came back, and no
 * `repositories:` section, so backups go to the default local repository
 * (`.lifeboat/repository` with the generated key `.lifeboat/repository.key`) that plain
 * restic can open. Pure: text in, text out.
 */
import type { DemoServerInfo } from './servers.js';
import { DEMO_DATA } from './fill.js';

export interface DemoPlanInput {
  servers: Pick<DemoServerInfo, 'postgres' | 'mariadb' | 'redis'>;
  /** The files dataset's directory, relative to the plan. */
  filesPath: string;
  /** ISO date the plan says it was written; its review is due a year later. */
  today: string;
  /**
   * What the plan says for a server's url (`postgres`, `mariadb`, `redis`): a `file:` reference
   * when the url carries a password, which never goes into a plan. Default: the url itself.
   */
  reference?: (server: 'postgres' | 'mariadb' | 'redis', url: string) => string;
}

export function demoPlanYaml(input: DemoPlanInput): string {
  const { postgres, mariadb, redis } = input.servers;
  const year = Number(input.today.slice(0, 4));
  const review = `${year + 1}${input.today.slice(4, 10)}`;
  const ref = input.reference ?? ((_server, url) => url);
  const pgUrl = ref('postgres', postgres.url.replace(/\/postgres$/, `/${DEMO_DATA.postgres.database}`));
  return `# Written by \`lifeboat demo\` for its throwaway servers (${input.today}).
# Inspect it with Lifeboat (lifeboat snapshots --plan THIS_FILE) or with plain restic:
# the repository is .lifeboat/repository, its key .lifeboat/repository.key.
version: 1
organization: Lifeboat Demo

document:
  title: Lifeboat Demo Disaster Recovery Plan
  version: "1"
  last_updated: ${input.today}
  next_review: ${review}
  owner: demo
  summary: >-
    Four throwaway data stores, each backed up to a local restic repository inside its RPO
    and verified by restoring it into a fresh instance.

objectives:
  rto: 1h
  rpo: 1h

services:
  shop:
    name: Demo shop
    priority: critical
    rto: 1h
    datasets: [postgres, mariadb, redis, files]

datasets:
  postgres:
    name: PostgreSQL (pgbench and documents)
    rpo: 1h
    source:
      type: postgres
      url: ${pgUrl}
      databases: [${DEMO_DATA.postgres.database}]
    backup: { every: 15m }
    retention: { last: 4, hourly: 24, daily: 7 }
    verify:
      every: daily
      checks:
        - name: every pgbench account restored
          sql: select count(*) from pgbench_accounts
          expect: { min: ${DEMO_DATA.postgres.accounts} }
        - name: every document restored
          sql: select count(*) from documents
          expect: { equals: ${DEMO_DATA.postgres.documents} }
        - name: json and bytea survived
          sql: select count(*) from documents where body ? 'tags' and length(attachment) = 64
          expect: { equals: ${DEMO_DATA.postgres.documents} }
  mariadb:
    name: MariaDB (customers and orders)
    rpo: 4h
    source:
      type: mysql
      url: ${ref('mariadb', mariadb.url)}
      databases: [${DEMO_DATA.mariadb.database}]
    backup: { every: 1h }
    retention: { last: 4, hourly: 24, daily: 7 }
    verify:
      every: daily
      checks:
        - name: every order restored
          database: ${DEMO_DATA.mariadb.database}
          sql: select count(*) from orders
          expect: { equals: ${DEMO_DATA.mariadb.orders} }
        - name: every customer restored
          database: ${DEMO_DATA.mariadb.database}
          sql: select count(*) from customers
          expect: { equals: ${DEMO_DATA.mariadb.customers} }
  redis:
    name: Redis (two databases)
    rpo: 1h
    source:
      type: redis
      url: ${ref('redis', redis.url)}
    backup: { every: 30m }
    retention: { last: 4, hourly: 12, daily: 7 }
    verify: { every: daily }
  files:
    name: Files (small documents and two binaries)
    rpo: 1d
    source:
      type: files
      paths: [${input.filesPath}]
    backup: { every: 6h }
    retention: { last: 4, daily: 7, weekly: 4 }
    verify: { every: daily }
`;
}
