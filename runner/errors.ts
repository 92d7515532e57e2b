// Usage errors (a wrong flag, a missing file) exit 2 like lab errors: the user's input needs fixing.
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
  constructor(message: string, readonly fix?: string) { super(message); }
}
