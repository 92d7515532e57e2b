import { checkLab } from './runner/schema.ts';
const base = () => ({ name: 'bridge', title: 'T', machines: { host: { memory: '256M' }, router: null }, checks: [{ name: 'a', on: 'host', run: 'true' }] } as any);
const cases: Record<string, (l: any) => void> = {
  ok: () => {},
  points: (l) => { l.checks[0].points = 'three'; },
  chekcs: (l) => { l.chekcs = l.checks; },
  unknownOn: (l) => { l.checks[0].on = 'hots'; },
  both: (l) => { l.checks[0].capture = 'x'; },
  neither: (l) => { delete l.checks[0].run; delete l.checks[0].on; },
  missingOn: (l) => { delete l.checks[0].on; l.checks[0].timout = '3s'; },
  capOn: (l) => { l.checks.push({ name: 'c', capture: 'br', on: 'host' }); },
  unkCap: (l) => { l.captures = [{ name: 'br', on: 'host', interface: 'br0' }]; l.checks.push({ name: 'c', capture: 'bx' }); },
  dup: (l) => { l.checks.push({ name: 'a', on: 'host', run: 'x' }); l.checks.push({ name: 'A!', on: 'host', run: 'x' }); },
  regex: (l) => { l.checks[0].expect = { stdout: { matches: '(a' } }; },
  two: (l) => { l.checks[0].expect = { stdout: { matches: 'a', contains: 'b' }, exitCode: 'zero' }; },
  containsBad: (l) => { l.checks[0].expect = { stdout: { contains: [1] } }; },
  timeout: (l) => { l.checks[0].timeout = 'ten'; l.setup = [{ on: 'host', run: 'x', timeout: -4 }]; },
  mem: (l) => { l.machines.host.memory = 64; l.machines.router = { memory: '64M', cpu: 2 }; },
  badMachine: (l) => { l.machines.Host = {}; },
  noMachines: (l) => { l.machines = {}; delete l.title; },
  nullChecks: (l) => { l.checks = null; },
  collect: (l) => { l.collect = ['ip a', { on: 'hots', run: 'x' }, { onn: 'x', run: 'y' }, 5]; },
  links: (l) => { l.links = [{ name: 'u', machines: ['host', 'host', 'zz'], addresses: { host: '10.0.0.1/24', router: '10.0.0.2', x: 'bad' } }]; },
  capExpect: (l) => { l.captures = [{ name: 'br', on: 'host', interface: 'br0' }]; l.checks.push({ name: 'c', capture: 'br', expect: { packets: 'arp', atLeast: 3, atMost: 2, exitCode: 0 } }); },
  runPackets: (l) => { l.checks[0].expect = { packets: 'arp' }; },
  notObj: (l) => { l.checks[0] = 'ping'; },
  root: () => {},
};
for (const [k, f] of Object.entries(cases)) {
  const l = base(); f(l);
  const r = checkLab(k === 'root' ? 'hello' : l);
  console.log('==', k, r.ok ? JSON.stringify(r.lab) : r.issues.map((i) => `${JSON.stringify(i.path)}${i.at ? '(key)' : ''}: ${i.message}${i.fix ? ' | fix: ' + i.fix : ''}`).join('\n'));
}
