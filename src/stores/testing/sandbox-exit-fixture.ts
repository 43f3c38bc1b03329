// Run by sandbox.test.ts: starts one instance of each kind, prints where they are, and exits
// without stopping them, so the test can check that the exit hook did.
import { startMariadb } from '../mysql/sandbox.js';
import { startPostgres } from '../postgres/sandbox.js';
import { startRedis } from '../redis/sandbox.js';

const instances = await Promise.all([
  startPostgres({ fast: true }),
  startMariadb({ fast: true }),
  startRedis(),
]);
process.stdout.write(JSON.stringify(instances.map(({ port, dataDir }) => ({ port, dataDir }))));
process.exit(0);
