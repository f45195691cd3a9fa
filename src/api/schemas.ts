// Response shapes, as zod schemas: fastify serializes through them (so a handler cannot drift
// from the documented shape) and the OpenAPI document is generated from them. Fields of the
// existing system come first and are never renamed; everything after them is additive.
import { z } from 'zod';
import { Outcome } from '../contract.ts';
import { PERCENTILE_METHOD } from './stats.ts';

const ms = (what: string) => z.number().int().meta({ description: `${what}, whole ms (Go int64 in the existing system); 0 when count is 0` });

export const WorstPodSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  nodeName: z.string(),
  createdAt: z.string().meta({ description: 'Pod creation instant used for the latency (RFC3339)' }),
  measuredTs: z.string().meta({ description: 'When the metric was reached: reporter start or first successful probe (RFC3339)' }),
  value: z.number().int().meta({ description: 'Latency, whole ms' }),
});

export const FailedPodSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  nodeName: z.string(),
  reason: z.string().meta({ description: 'Why the metric has no value: the result reason, or its outcome' }),
  outcome: Outcome,
  message: z.string(),
});

export const MetricStatsSchema = z.object({
  metric: z.enum(['time-to-start', 'time-to-datapath-ready', 'time-to-datapath-receive', 'time-to-policy-enforced']),
  unit: z.literal('ms'),
  count: z.number().int().meta({ description: 'Results with a value for this metric (the percentile sample)' }),
  totalSuccessful: z.number().int().meta({ description: 'Same as count (kept from the existing system)' }),
  totalFailed: z.number().int().meta({ description: 'Results without a value for this metric' }),
  p50: ms('Median'),
  p90: ms('90th percentile'),
  p99: ms('99th percentile'),
  worstPods: z.array(WorstPodSchema).meta({ description: 'Highest values first; ties by namespace, name' }),
  failedPods: z.array(FailedPodSchema).meta({ description: 'Sorted by reason, namespace, name; at most 1000' }),
  p95: ms('95th percentile'),
  min: ms('Smallest value'),
  max: ms('Largest value'),
  mean: z.number().meta({ description: 'Arithmetic mean, ms to 0.001; 0 when count is 0' }),
  pending: z.number().int().meta({ description: 'Tracked pods matching the filters with no result yet; not failures' }),
  timedOut: z.number().int().meta({ description: 'Results with outcome TimedOut' }),
  percentileMethod: z.literal(PERCENTILE_METHOD).meta({
    description: 'Linear interpolation (R type 7, numpy default): h=(n-1)p, x[floor h] + (h-floor h)(x[floor h + 1] - x[floor h])',
  }),
  failedPodsTruncated: z.boolean(),
});

const PodPhase = z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

export const HealthPodSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  nodeName: z.string(),
  phase: PodPhase,
  reason: z.string(),
  message: z.string(),
  outcome: z.union([Outcome, z.literal('')]).meta({ description: "Datapath outcome, '' while pending" }),
  createdAt: z.string().optional().meta({ description: 'Best known creation instant (RFC3339); on datapathPendingPodList only' }),
});

export const PodHealthSchema = z.object({
  namespace: z.string().meta({ description: "The namespace filter, '' when not given (echo, as the existing system)" }),
  labelSelector: z.string().meta({ description: "The labelSelector filter as given, '' when not given" }),
  desiredReplicas: z.number().int().meta({ description: 'Tracked pods (with the dpready readiness gate) matching the filters, any phase' }),
  runningPods: z.number().int().meta({ description: 'Pods in phase Running' }),
  pendingPods: z.number().int().meta({ description: 'Pods in phase Pending' }),
  failedPods: z.number().int().meta({ description: 'Pods in phase Failed or Unknown; Succeeded pods are not failures' }),
  successPct: z.number().meta({ description: '100 * (runningPods + succeededPods) / desiredReplicas, two decimals; 0 when desiredReplicas is 0' }),
  pendingPodList: z.array(HealthPodSchema).meta({ description: 'The pods counted in pendingPods, by namespace, name; at most topN' }),
  failedPodList: z.array(HealthPodSchema).meta({ description: 'The pods counted in failedPods, by reason, namespace, name; at most topN' }),
  succeededPods: z.number().int().meta({ description: 'Pods in phase Succeeded (finished Job pods)' }),
  phases: z.record(PodPhase, z.number().int()),
  desired: z.number().int().meta({ description: 'Same as desiredReplicas' }),
  running: z.number().int().meta({ description: 'Same as runningPods' }),
  pending: z.number().int().meta({ description: 'Pods with no datapath result yet (not in phase Failed)' }),
  failed: z.number().int().meta({ description: 'Pods with a Failed/TimedOut datapath result, or in phase Failed' }),
  succeeded: z.number().int().meta({ description: 'Pods with a Succeeded datapath result' }),
  datapathSuccessPct: z.number().meta({ description: '100 * succeeded / desired, two decimals; 0 when desired is 0' }),
  datapathFailedPodList: z.array(HealthPodSchema).meta({ description: 'Pods with a Failed/TimedOut datapath result, by reason, namespace, name; at most topN' }),
  pendingPodsTruncated: z.boolean().meta({ description: 'pendingPodList holds fewer pods than pendingPods' }),
  failedPodsTruncated: z.boolean().meta({ description: 'failedPodList holds fewer pods than failedPods' }),
  datapathFailedPodListTruncated: z.boolean(),
  datapathPendingPodList: z.array(HealthPodSchema).meta({ description: 'Pods with no datapath outcome yet (the pending count), oldest first, with our condition\'s reason; at most topN' }),
  datapathPendingPodListTruncated: z.boolean(),
});

export const PhaseStatsSchema = z.object({
  phase: z.string().meta({ description: 'scheduled, initialized, containers-ready, datapath-ready, ready, reporter-start, reporter-ready, ready-without-datapath' }),
  from: z.string().meta({ description: 'The instant the phase is measured from' }),
  to: z.string().meta({ description: 'The instant it ends at' }),
  clock: z.string().meta({ description: 'Which clock(s) the instants come from' }),
  count: z.number().int().meta({ description: 'Results with both instants known' }),
  p50: ms('Median'), p90: ms('90th percentile'), p95: ms('95th percentile'), p99: ms('99th percentile'),
  min: ms('Smallest'), max: ms('Largest'),
  mean: z.number().meta({ description: 'Arithmetic mean, ms to 0.001' }),
  worstPods: z.array(z.object({
    namespace: z.string(), name: z.string(), uid: z.string(), nodeName: z.string(), createdAt: z.string(),
    value: z.number().int().meta({ description: 'ms' }),
  })).meta({ description: 'Highest first, at most topN' }),
});

export const PhasesSchema = z.object({
  unit: z.literal('ms'),
  percentileMethod: z.literal(PERCENTILE_METHOD),
  results: z.number().int().meta({ description: 'Results matching the filters' }),
  phases: z.array(PhaseStatsSchema),
});

export const ErrorSchema = z.object({
  statusCode: z.number().int(),
  error: z.string(),
  code: z.string(),
  message: z.string(),
  parameter: z.string().optional().meta({ description: 'On 400: the first offending query parameter' }),
  problem: z.string().optional(),
  problems: z.array(z.object({ parameter: z.string(), problem: z.string() })).optional(),
});

export const StatusSchema = z.object({ status: z.string() });
