// Exit codes mean something (sysexits where one fits): scripts and CI branch on them.
export const EXIT = {
  passed: 0,
  checksFailed: 1,
  usage: 2,
  unavailable: 69,
  interrupted: 130,
} as const;
