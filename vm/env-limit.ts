// The limits a user may set through the environment (NETLAB_MAX_*): a whole number above 0, or the
// default. Anything else (empty, "abc", "-1", "1.5") is not a setting and leaves the default.
export function positiveIntFromEnv(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && Number.isInteger(n) && n > 0 ? n : fallback;
}
