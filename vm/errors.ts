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

// A guest file over the download limit: the guest's doing (a submission can make any file huge), so
// not an infrastructure failure: the check or capture that wanted it fails.
export class DownloadTooLargeError extends Error {
  override name = 'DownloadTooLargeError';
}


// Debian's archive has no package of that name (a lab's `packages`): the lab's input, not the
// machine's failure. The runner names the lab.yaml line that asked for it.
export class PackageNotFoundError extends Error {
  override name = 'PackageNotFoundError';
  constructor(readonly packages: string[], readonly suite: string, readonly mirror: string) {
    super(`Debian ${suite} (${mirror}) has no package ${packages.join(', ')}`);
  }
}

// A command of a machine's `boot` list (lab.yaml) failed: the lab's commands, not the machine, so a
// second boot would fail the same way and is not tried.
export class BootStepError extends InfraError {
  override name = 'BootStepError';
}
