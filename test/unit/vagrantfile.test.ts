// The Vagrant backend's pure parts: the generated Vagrantfile, `vagrant ssh-config` parsing, and
// which libvirt objects a run's cleanup removes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixOfRun, removalCommands, runOfPrefix } from '../../vm/vagrant/libvirt.ts';
import { domainName, MODULES_DISK_SLOT, networkName, parseSshConfig, vagrantfileFor, type VagrantPlan } from '../../vm/vagrant/vagrantfile.ts';

const plan: VagrantPlan = {
  prefix: 'nl3fa2c1', runDir: '/tmp/netlab-run-0/nl-3fa2c1', box: 'netlab/abc', sshKey: '/cache/images/abc/id_ed25519', mgmtSubnet: '10.213.4.0/24',
  machines: [
    { name: 'node1', memoryMb: 256, cpus: 1, kernel: '/k/vmlinux', initrd: '/k/initrd.img', modulesDisk: '/k/modules.img', mgmtMac: '52:54:00:00:00:01', nics: [{ mac: '52:54:01:aa:00:01', localPort: 40001, peerPort: 40002 }] },
    { name: 'node2', memoryMb: 512, cpus: 2, kernel: '/k/vmlinux', initrd: '/k/initrd.img', modulesDisk: '/k/modules.img', mgmtMac: '52:54:00:00:00:02', nics: [{ mac: '52:54:01:aa:00:02', localPort: 40002, peerPort: 40001 }] },
  ],
};

test('the Vagrantfile: one machine per lab machine, TCG, direct kernel boot, isolated management network, UDP links', () => {
  const vf = vagrantfileFor(plan);
  assert.match(vf, /config\.vm\.box = "netlab\/abc"/);
  assert.match(vf, /config\.ssh\.username = "root"/);
  assert.match(vf, /config\.ssh\.private_key_path = "\/cache\/images\/abc\/id_ed25519"/);
  assert.match(vf, /synced_folder "\.", "\/vagrant", disabled: true/);
  assert.equal(vf.match(/config\.vm\.define/g)?.length, 2);
  assert.equal(vf.match(/lv\.driver = "qemu"/g)?.length, 2, 'TCG: libvirt\'s plain QEMU driver');
  assert.equal(vf.match(/lv\.management_network_mode = "none"/g)?.length, 2, 'isolated: no <forward>');
  assert.match(vf, /lv\.management_network_address = "10\.213\.4\.0\/24"/);
  assert.match(vf, /lv\.management_network_name = "nl3fa2c1-mgmt"/);
  assert.match(vf, /lv\.default_prefix = "nl3fa2c1-"/);
  assert.match(vf, /lv\.storage_pool_name = "nl3fa2c1"/);
  assert.match(vf, /lv\.memory = 512\n\s+lv\.cpus = 2/);
  assert.match(vf, /lv\.cmd_line = "console=ttyS0 panic=-1 quiet netlab\.hostname=node2 netlab\.ip=dhcp netlab\.gw=none"/);
  assert.match(vf, new RegExp(`virtio-blk-pci,drive=kmods,addr=${MODULES_DISK_SLOT}`));
  assert.match(vf, /file=\/k\/modules\.img,if=none,id=kmods,format=raw,readonly=on/);
  // node1's tunnel listens where node2's sends, and the other way round.
  assert.match(vf, /libvirt__tunnel_local_port: 40001,\n\s+libvirt__tunnel_ip: "127\.0\.0\.1", libvirt__tunnel_port: 40002, libvirt__mac: "52:54:01:aa:00:01"/);
  assert.match(vf, /libvirt__tunnel_local_port: 40002,\n\s+libvirt__tunnel_ip: "127\.0\.0\.1", libvirt__tunnel_port: 40001, libvirt__mac: "52:54:01:aa:00:02"/);
  assert.match(vf, /auto_config: false/);
  assert.doesNotMatch(vf, /0\.0\.0\.0|forward_mode: "nat"/);
});

test('vagrant ssh-config: one endpoint per host, quoted values unquoted', () => {
  const text = `Host node1
  HostName 10.213.4.57
  User root
  Port 22
  UserKnownHostsFile /dev/null
  IdentityFile "/cache/images/abc/id_ed25519"
  IdentitiesOnly yes

Host node2
  HostName 10.213.4.58
  User root
  Port 2222
`;
  assert.deepEqual(parseSshConfig(text), [
    { host: 'node1', hostName: '10.213.4.57', port: 22, user: 'root', identityFile: '/cache/images/abc/id_ed25519' },
    { host: 'node2', hostName: '10.213.4.58', port: 2222, user: 'root' },
  ]);
});

test('cleanup removes exactly the run\'s domains (with storage), pool and network, by prefix', () => {
  const cmds = removalCommands('nl3fa2c1', {
    domains: ['nl3fa2c1-node1', 'nl3fa2c1-node2', 'nl3fa2c10-other', 'someone-else'],
    networks: ['nl3fa2c1-mgmt', 'default'], pools: ['nl3fa2c1', 'default'],
  }).map((c) => c.slice(4).join(' '));
  assert.deepEqual(cmds, [
    'destroy nl3fa2c1-node1', 'undefine nl3fa2c1-node1 --nvram --remove-all-storage',
    'destroy nl3fa2c1-node2', 'undefine nl3fa2c1-node2 --nvram --remove-all-storage',
    'pool-destroy nl3fa2c1', 'pool-undefine nl3fa2c1',
    'net-destroy nl3fa2c1-mgmt', 'net-undefine nl3fa2c1-mgmt',
  ]);
  assert.equal(domainName('nl3fa2c1', 'node1'), 'nl3fa2c1-node1');
  assert.equal(networkName('nl3fa2c1'), 'nl3fa2c1-mgmt');
  assert.equal(prefixOfRun('nl-3fa2c1'), 'nl3fa2c1');
  assert.equal(runOfPrefix('nl3fa2c1'), 'nl-3fa2c1');
});
