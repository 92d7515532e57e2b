// Infrastructure failures: the machine, not the student, misbehaved. The runner maps these to exit 69
// (sysexits EX_UNAVAILABLE) and reports them apart from failed checks.
export class InfraError extends Error {
  override name = 'InfraError';
  /** What the user can do about it, e.g. the exact apt command. */
  readonly fix?: string;
  constructor(message: string, opts: { fix?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.fix = opts.fix;
  }
}

// A command ran past its time limit inside a guest.
export class ExecTimeoutError extends InfraError {
  override name = 'ExecTimeoutError';
}
