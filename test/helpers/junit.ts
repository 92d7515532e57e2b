import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The JUnit XSD the tests hold junit.xml to (test/fixtures/junit/junit.xsd). */
export const JUNIT_XSD = fileURLToPath(new URL('../fixtures/junit/junit.xsd', import.meta.url));

/** Validates a JUnit file with libxml2's xmllint against the XSD: a real XML parser and validator. */
export async function validateJUnit(file: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { reject: false, all: true });
  return { ok: r.exitCode === 0, output: r.all ?? '' };
}

/** An XPath expression's value in a file, through xmllint. */
export async function xpath(file: string, expr: string): Promise<string> {
  const r = await execa('xmllint', ['--xpath', expr, file], { reject: false });
  return r.stdout.trim();
}
