// BullMQ peer of bench/queue/queue_bench.cpp, same workload: add N jobs, then a worker with a
// no-op processor runs them until all are completed; prints jobs/min. Completed jobs are kept
// (BullMQ's default), as studio keeps completed rows until cleanup.
//   REDIS_PORT=6379 QUEUE_BENCH_JOBS=20000 node bench.mjs   (run.sh starts a throwaway redis-server)
import { Queue, Worker } from 'bullmq';

const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
const jobs = Number(process.env.QUEUE_BENCH_JOBS ?? 20000);
const data = { document: 'doc_0123456789' };

async function run(n, addBatch, concurrency) {
  const queue = new Queue('bench', { connection });
  await queue.obliterate({ force: true });

  const addStart = performance.now();
  for (let done = 0; done < n; done += addBatch) {
    const count = Math.min(addBatch, n - done);
    if (count === 1) await queue.add('noop', data);
    else await queue.addBulk(Array.from({ length: count }, () => ({ name: 'noop', data })));
  }
  const addSeconds = (performance.now() - addStart) / 1000;

  const processStart = performance.now();
  let completed = 0;
  let worker;
  await new Promise((resolve) => {
    worker = new Worker('bench', async () => {}, { connection, concurrency });
    worker.on('completed', () => {
      if (++completed === n) resolve();
    });
  });
  const processSeconds = (performance.now() - processStart) / 1000;
  await worker.close();
  await queue.close();

  const perMin = (seconds) => Math.round((n / seconds) * 60).toString().padStart(8);
  console.log(
    `bullmq   jobs=${String(n).padEnd(6)} add/call=${String(addBatch).padEnd(4)} concurrency=${concurrency}` +
      `  add ${perMin(addSeconds)} jobs/min  process ${perMin(processSeconds)} jobs/min` +
      `  end-to-end ${perMin(addSeconds + processSeconds)} jobs/min`,
  );
}

await run(jobs, 500, 1);
await run(jobs, 500, 4);
await run(Math.floor(jobs / 10), 1, 1);
await run(Math.floor(jobs / 10), 1, 4);
