import { z } from 'zod';

// PrairieLearn's external-grader results.json, field by field as its "External grading" docs list them
// (what <pl-external-grader-results> renders): unknown keys are errors here, though PrairieLearn would
// keep them, so that a misspelt field cannot pass. PrairieLearn refuses a file over 1 MiB.
const Image = z.union([z.string(), z.strictObject({ url: z.string(), label: z.string().optional() })]);
const PrairieLearnTest = z.strictObject({
  name: z.string().min(1), description: z.string().optional(), points: z.number().min(0), max_points: z.number().min(0),
  message: z.string().optional(), output: z.string().optional(), images: z.array(Image).optional(),
}).refine((t) => t.points <= t.max_points + 1e-9, { message: 'points above max_points' });
/** PrairieLearn's results.json; `score` in [0, 1] is required unless `gradable` is false. */
export const PrairieLearnResults = z.strictObject({
  gradable: z.boolean().optional(), score: z.number().min(0).max(1).optional(), message: z.string().optional(),
  output: z.string().optional(), format_errors: z.union([z.string(), z.array(z.string())]).optional(),
  images: z.array(Image).optional(), tests: z.array(PrairieLearnTest).optional(),
}).refine((r) => r.gradable === false || r.score !== undefined, { message: 'score is required when the submission is gradable' });

/** PrairieLearn's own limit (grader-host: Buffer.byteLength(results.json) > 1024 * 1024 is refused). */
export const PRAIRIELEARN_LIMIT = 1024 * 1024;
