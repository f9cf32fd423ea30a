// Driver for test/compat/bullmq_test.go. Runs BullMQ against the server at
// REDIS_PORT: adds JOBS jobs (every 10th delayed, every 10th+1 fails its
// first attempt and is retried after a fixed backoff, every 10th+2 has a
// priority, the rest plain), one repeatable job (REPEAT_LIMIT runs) and one
// flow (a parent and three children); one Worker with concurrency processes
// them all. It prints one JSON line: the queue's job counts and what it
// found wrong, so the Go test can compare the outcome with what is expected
// and with the other server's. It exits non-zero only when it cannot finish.
'use strict';
const { Queue, Worker, FlowProducer } = require('bullmq');

const port = Number(process.env.REDIS_PORT);
const jobs = Number(process.env.JOBS || 10000);
const repeatLimit = 3;
const children = 3;
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const queueName = 'compat';

const kind = (i) => ['delayed', 'retried', 'prioritized'][i % 10] || 'plain';
const expectedValue = (i) => ({ i, doubled: i * 2 });

async function main() {
  const queue = new Queue(queueName, { connection });
  const flows = new FlowProducer({ connection });
  const problems = [];
  const byKind = {};
  let repeatRuns = 0;
  let flowParentValue = null;

  const worker = new Worker(queueName, async (job) => {
    if (job.name === 'repeat') {
      repeatRuns++;
      return { repeat: true };
    }
    if (job.name === 'child') return job.data.n;
    if (job.name === 'parent') {
      const values = Object.values(await job.getChildrenValues());
      flowParentValue = values.reduce((a, b) => a + b, 0);
      return flowParentValue;
    }
    const i = job.data.i;
    if (kind(i) === 'retried' && job.attemptsMade === 0) throw new Error('first attempt fails');
    return expectedValue(i);
  }, { connection, concurrency: 50 });
  worker.on('error', (err) => problems.push('worker error: ' + err.message));

  const total = jobs + repeatLimit + children + 1;
  let completed = 0;
  const done = new Promise((resolve) => worker.on('completed', () => { if (++completed === total) resolve(); }));

  const bulk = [];
  for (let i = 0; i < jobs; i++) {
    const opts = {};
    switch (kind(i)) {
      case 'delayed': opts.delay = 100 + (i % 400); break;
      case 'retried': opts.attempts = 2; opts.backoff = { type: 'fixed', delay: 50 }; break;
      case 'prioritized': opts.priority = 1 + (i % 7); break;
    }
    bulk.push({ name: 'job', data: { i }, opts });
    if (bulk.length === 500) await queue.addBulk(bulk.splice(0));
  }
  if (bulk.length) await queue.addBulk(bulk.splice(0));
  await queue.add('repeat', {}, { repeat: { every: 200, limit: repeatLimit } });
  await flows.add({
    name: 'parent', queueName,
    children: Array.from({ length: children }, (_, n) => ({ name: 'child', queueName, data: { n: n + 1 } })),
  });

  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error(`timed out: ${completed}/${total} completed`)), Number(process.env.TIMEOUT_MS || 240000)));
  await Promise.race([done, timeout]);
  await worker.close();

  const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active', 'prioritized', 'waiting-children', 'paused');
  for (const job of await queue.getJobs(['completed'], 0, -1)) {
    if (job.name !== 'job') continue;
    const i = job.data.i;
    const k = kind(i);
    byKind[k] = (byKind[k] || 0) + 1;
    if (JSON.stringify(job.returnvalue) !== JSON.stringify(expectedValue(i))) {
      problems.push(`job ${i}: returnvalue ${JSON.stringify(job.returnvalue)}`);
    }
    const wantAttempts = k === 'retried' ? 2 : 1;
    if (job.attemptsMade !== wantAttempts) problems.push(`job ${i}: attemptsMade ${job.attemptsMade}, want ${wantAttempts}`);
    if (k === 'retried' && job.stacktrace.length !== 1) problems.push(`job ${i}: ${job.stacktrace.length} stacktraces, want 1`);
    if (k === 'delayed' && job.processedOn < job.timestamp + job.delay) problems.push(`job ${i}: processed before its delay`);
  }
  const repeatable = await queue.getRepeatableJobs();
  await queue.close();
  await flows.close();
  console.log(JSON.stringify({
    counts, byKind, repeatRuns, repeatableLeft: repeatable.length, flowParentValue,
    problems: problems.slice(0, 20), problemCount: problems.length,
  }));
}

main().then(() => process.exit(0), (err) => { console.error(err && err.stack || err); process.exit(1); });
