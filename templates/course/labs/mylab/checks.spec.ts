// A check in TypeScript, for what a command and a pattern cannot say: lab.yaml names it
// (`spec: checks.spec.ts#addresses`), and its points, hint and place in the order come from there.
import { labCheck } from 'netlab-run/lab';

interface IpAddr { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }

// One point for each end of the pair that holds its address with the right prefix length.
export const addresses = labCheck(async ({ machine, step }) => {
  const host = machine();
  let points = 0;
  for (const [ns, dev, want] of [['', 'veth0', '10.0.0.1/24'], ['blue', 'veth1', '10.0.0.2/24']] as const) {
    await step(`${dev} holds ${want}`, async () => {
      const r = await host.exec(`ip ${ns ? `-n ${ns} ` : ''}-j -4 addr show dev ${dev}`);
      const links = r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as IpAddr[]) : [];
      const have = links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
      if (have.includes(want)) points += 1;
    });
  }
  return points;
});
