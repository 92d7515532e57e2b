// Exit codes mean something (sysexits where one fits): scripts and CI branch on them.
export const EXIT = {
  passed: 0,
  checksFailed: 1,
  /** `netlab-run verify`: some example (or the reference) did not get the grade lab.yaml declares. */
  examplesDiffer: 1,
  usage: 2,
  unavailable: 69,
  /** A bug in netlab-run itself (sysexits' EX_SOFTWARE): the message asks for NETLAB_DEBUG=1 and a report. */
  internal: 70,
  interrupted: 130,
} as const;
