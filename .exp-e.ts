import { z } from 'zod';
const duration = () => z.union([z.number(), z.string()]).transform((v) => 5);
const S = z.strictObject({ on: z.string(), timeout: duration().prefault('60s') });
const T = z.strictObject({ a: z.array(S).default([]).describe('setup') });
console.log(JSON.stringify(z.toJSONSchema(T, { io: 'input', target: 'draft-7' })));
const S2 = z.strictObject({ on: z.string(), timeout: duration().optional() });
console.log(JSON.stringify(z.toJSONSchema(z.strictObject({ a: z.array(S2).default([]) }), { io: 'input', target: 'draft-7' })));
