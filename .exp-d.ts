import { labJsonSchemaText } from './runner/schema.ts';
process.stdout.write(labJsonSchemaText());
