// Driver for test/compat/bullmq_test.go. Runs BullMQ against the server at
// REDIS_PORT: adds JOBS jobs (every 10th delayed, every 10th+1 fails its
// first attempt and is retried after a fixed backoff, every 10th+2 has a
// priority, every 10th+3 always fails and ends failed, every 10th+4 reports
// progress and writes a log line, the rest plain), one repeatable job
// (3 runs) and one flow (a parent and three children); one Worker with
// concurrency processes them all while QueueEvents reads the events stream
// from its start. Then a job whose worker stops renewing its lock must be
// found stalled and finished by a second worker. It prints one JSON line: the queue's job counts, the
// events seen and what it found wrong, so the Go test can compare the
// outcome with what is expected and with the other server's. It exits
// non-zero only when it cannot finish.
'use strict';
const { Queue, Worker, FlowProducer, QueueEvents } = require('bullmq');

const port = Number(process.env.REDIS_PORT);
const jobs = Number(process.env.JOBS || 10000);
const repeatLimit = 3;
const children = 3;
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
// No trimming of the events stream, so QueueEvents sees every event.
const streams = { events: { maxLen: 10000000 } };
const queueName = 'compat';

const kind = (i) => ['delayed', 'retried', 'prioritized', 'failing', 'progress'][i % 10] || 'plain';
const expectedValue = (i) => ({ i, doubled: i * 2 });

async function main() {
  const queue = new Queue(queueName, { connection, streams });
  const flows = new FlowProducer({ connection });
  const events = new QueueEvents(queueName, { connection, lastEventId: '0-0' });
  const eventCounts = {};
  for (const name of ['added', 'completed', 'failed', 'delayed', 'progress']) {
    events.on(name, () => { eventCounts[name] = (eventCounts[name] || 0) + 1; });
  }
  await events.waitUntilReady();
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
    if (kind(i) === 'failing') throw new Error(`job ${i} always fails`);
    if (kind(i) === 'progress') {
      await job.updateProgress({ i });
      await job.log(`job ${i} logs`);
    }
    return expectedValue(i);
  }, { connection, concurrency: 50, streams });
  worker.on('error', (err) => problems.push('worker error: ' + err.message));

  const total = jobs + repeatLimit + children + 1;
  let completed = 0;
  let finished = 0;
  let done;
  const allDone = new Promise((resolve) => { done = resolve; });
  const finish = () => { if (++finished === total) done(); };
  worker.on('completed', () => { completed++; finish(); });
  worker.on('failed', (job) => { if (job.attemptsMade >= (job.opts.attempts || 1)) finish(); });

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
    () => reject(new Error(`timed out: ${finished}/${total} finished`)), Number(process.env.TIMEOUT_MS || 240000)));
  await Promise.race([allDone, timeout]);
  await worker.close();
  // QueueEvents reads the stream behind the worker; wait until it has seen
  // every job finish.
  const eventsDeadline = Date.now() + 60000;
  const eventsSeen = () => (eventCounts.completed || 0) + (eventCounts.failed || 0);
  while (eventsSeen() < total && Date.now() < eventsDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (eventsSeen() !== total) problems.push(`QueueEvents saw ${eventsSeen()} jobs finish, want ${total}`);

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
    if (k === 'progress') {
      if (JSON.stringify(job.progress) !== JSON.stringify({ i })) problems.push(`job ${i}: progress ${JSON.stringify(job.progress)}`);
      const { logs, count } = await queue.getJobLogs(job.id);
      if (count !== 1 || logs[0] !== `job ${i} logs`) problems.push(`job ${i}: logs ${JSON.stringify(logs)} (count ${count})`);
    }
  }
  for (const job of await queue.getJobs(['failed'], 0, -1)) {
    const i = job.data.i;
    byKind['failed ' + kind(i)] = (byKind['failed ' + kind(i)] || 0) + 1;
    if (job.failedReason !== `job ${i} always fails`) problems.push(`job ${i}: failedReason ${job.failedReason}`);
    if (job.attemptsMade !== 1) problems.push(`failed job ${i}: attemptsMade ${job.attemptsMade}, want 1`);
  }
  const repeatable = await queue.getRepeatableJobs();
  await events.close();
  await queue.close();
  await flows.close();
  const stalled = await recoverStalled();
  console.log(JSON.stringify({
    counts, byKind, events: eventCounts, stalled, repeatRuns, repeatableLeft: repeatable.length, flowParentValue,
    problems: problems.slice(0, 20), problemCount: problems.length,
  }));
}

// recoverStalled starts a job on a worker that never renews its 500 ms lock
// and never finishes, then lets a second worker's stalled check move the job
// back to wait and complete it.
async function recoverStalled() {
  const name = 'compat-stalled';
  const queue = new Queue(name, { connection });
  await queue.add('stuck', {}, { jobId: 'stuck' });
  let started;
  const firstStarted = new Promise((resolve) => { started = resolve; });
  const stuck = new Worker(name, async () => { started(); await new Promise(() => {}); },
    { connection, lockDuration: 500, skipLockRenewal: true, skipStalledCheck: true });
  await firstStarted;
  const stalled = [];
  const rescuer = new Worker(name, async (job) => `finished on start ${job.attemptsStarted}`,
    { connection, lockDuration: 500, stalledInterval: 300, maxStalledCount: 2 });
  rescuer.on('stalled', (id) => stalled.push(id));
  const result = await new Promise((resolve) => rescuer.on('completed', (job, value) => resolve(value)));
  await rescuer.close();
  stuck.close(true).catch(() => {});
  const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait');
  await queue.close();
  return { stalled, result, counts };
}

main().then(() => process.exit(0), (err) => { console.error(err && err.stack || err); process.exit(1); });
