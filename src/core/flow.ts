/**
 * Flows: a parent job with its children, enqueued in one transaction. The
 * tree is flattened children first, each parent depending on its children
 * by their index in the batch, so the parent is `waiting` until every child
 * completed, and its handler reads their results with ctx.dependencies().
 */
import { JobqError } from '../contracts/errors.js';
import type { EnqueueInput } from './enqueue-input.js';

export interface FlowInput<P = unknown> {
  job: EnqueueInput<P>;
  /** Jobs (or flows) that must complete before `job` runs. */
  children?: readonly FlowInput[];
}

export interface FlowNode<J> {
  job: J;
  children: FlowNode<J>[];
}

/** Most jobs one flow may hold (it is one batch). */
export const MAX_FLOW_JOBS = 1000;

interface Placed {
  index: number;
  kids: Placed[];
}

/** The flow as one ordered batch, and how to rebuild the tree from the batch's answers. */
export function flattenFlow(flow: FlowInput): { inputs: EnqueueInput[]; rebuild<J>(jobs: readonly J[]): FlowNode<J> } {
  const inputs: EnqueueInput[] = [];
  const walk = (node: FlowInput, depth: number): Placed => {
    if (depth > 64) throw new JobqError('invalid_request', 'a flow nests deeper than 64 levels', { details: { field: 'children' } });
    if (typeof node !== 'object' || node === null || typeof node.job !== 'object' || node.job === null) {
      throw new JobqError('invalid_request', 'each flow node needs a job', { details: { field: 'job' } });
    }
    const kids = (node.children ?? []).map((c) => walk(c, depth + 1));
    if (node.job.dependsOn !== undefined && node.job.dependsOn.some((d) => typeof d === 'number')) {
      throw new JobqError('invalid_request', 'jobs in a flow depend on their children; dependsOn may only name stored jobs by id', { details: { field: 'dependsOn' } });
    }
    const index = inputs.length;
    inputs.push({ ...node.job, dependsOn: [...(node.job.dependsOn ?? []), ...kids.map((k) => k.index)] });
    if (inputs.length > MAX_FLOW_JOBS) throw new JobqError('batch_too_large', `a flow holds at most ${MAX_FLOW_JOBS} jobs`, { details: { limit: MAX_FLOW_JOBS } });
    return { index, kids };
  };
  const root = walk(flow, 0);
  for (const input of inputs) if (input.dependsOn?.length === 0) delete input.dependsOn;
  return {
    inputs,
    rebuild<J>(jobs: readonly J[]): FlowNode<J> {
      const build = (n: Placed): FlowNode<J> => ({ job: jobs[n.index]!, children: n.kids.map(build) });
      return build(root);
    },
  };
}
