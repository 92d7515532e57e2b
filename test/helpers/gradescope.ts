import { z } from 'zod';

// Gradescope's results.json, field by field as its specification lists them
// (gradescope-autograders.readthedocs.io/en/latest/specs/): unknown keys are errors here.
const VISIBILITY = z.enum(['hidden', 'after_due_date', 'after_published', 'visible']);
const FORMAT = z.enum(['text', 'html', 'simple_format', 'md', 'ansi']);
const GradescopeTest = z.strictObject({
  score: z.number().optional(), max_score: z.number().optional(), status: z.enum(['passed', 'failed']).optional(),
  name: z.string().optional(), name_format: FORMAT.optional(), number: z.string().optional(), output: z.string().optional(),
  output_format: FORMAT.optional(), tags: z.array(z.string()).optional(), visibility: VISIBILITY.optional(), extra_data: z.record(z.string(), z.unknown()).optional(),
});
/** Gradescope's results.json as its specification lists the fields; unknown keys are errors. */
export const GradescopeResults = z.strictObject({
  score: z.number().optional(), execution_time: z.number().min(0).optional(), output: z.string().optional(),
  output_format: FORMAT.optional(), test_output_format: FORMAT.optional(), test_name_format: FORMAT.optional(),
  visibility: VISIBILITY.optional(), stdout_visibility: VISIBILITY.optional(), extra_data: z.record(z.string(), z.unknown()).optional(),
  tests: z.array(GradescopeTest).optional(),
  leaderboard: z.array(z.strictObject({ name: z.string(), value: z.union([z.number(), z.string()]), order: z.enum(['asc', 'desc']).optional() })).optional(),
}).refine((r) => r.score !== undefined || (r.tests ?? []).every((t) => t.score !== undefined), { message: 'score is required at the top or on every test' });

