export { createJobQueue, installJobQueue, QUEUE_SCHEMA } from './queue.ts';
export type { Job, JobHandler, JobQueue, JobQueueOptions, QueueSettings, SendOptions, WorkOptions } from './queue.ts';
