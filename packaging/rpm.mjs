// The .rpm: rpmbuild (Debian's `rpm` package) over the staged tree; library requirements from rpm's own
// ELF dependency generator; units in /usr/lib/systemd/system as RPM distributions keep them.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUT, VERSION, WORK, run, step } from './common.mjs';
import { stageTree } from './tree.mjs';

export const RPM_NAME = `sctpdiag-${VERSION}-1.x86_64.rpm`;

const reload = 'if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null 2>&1 || :; fi';

const spec = (stage) => `Name: sctpdiag
Version: ${VERSION}
Release: 1
Summary: Kernel SCTP diagnostics and tuning for Linux operators
License: MIT
BuildArch: x86_64
Recommends: bpftrace
Recommends: iproute

%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
sctpdiag shows SCTP associations and their paths, follows live events
(bpftrace, or procfs polling), tunes the net.sctp sysctls with profiles
(apply, verify, rollback), models failover time, checks a host against
runbook rules and exports Prometheus metrics. It is one self-contained
executable with its own Node.js runtime. The systemd units are installed
but not enabled.

%install
cp -a ${stage}/. %{buildroot}/

%post
${reload}

%postun
${reload}
if [ "$1" = 0 ]; then rm -rf /var/lib/sctpdiag; fi

%files
%attr(0755,root,root) /usr/bin/sctpdiag
/usr/share/sctpdiag
/usr/share/man/man8/sctpdiag.8.gz
/usr/lib/systemd/system/sctpdiag-events.service
/usr/lib/systemd/system/sctpdiag-exporter.service
/usr/lib/systemd/system/sctpdiag-textfile.service
/usr/lib/systemd/system/sctpdiag-textfile.timer
%config(noreplace) %attr(0600,root,root) /etc/sctpdiag/web-config.yml
%dir /etc/sctpdiag
%dir /etc/sctpdiag/profiles
%dir /var/lib/sctpdiag
`;

export function buildRpm(exe) {
  const done = step('.rpm (rpmbuild)');
  const stage = join(WORK, 'rpm-root');
  stageTree(stage, exe, { unitDir: '/usr/lib/systemd/system' });
  const top = join(WORK, 'rpmbuild');
  rmSync(top, { recursive: true, force: true });
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const specFile = join(top, 'SPECS/sctpdiag.spec');
  writeFileSync(specFile, spec(stage));
  run('rpmbuild', [
    '-bb', '--quiet',
    '--define', `_topdir ${top}`,
    '--define', '_binary_payload w6.gzdio', // gzip: read everywhere, and xz took minutes on a busy CI host
    '--define', '_buildhost sctpdiag-build',
    '--define', 'use_source_date_epoch_as_buildtime 1',
    '--define', 'clamp_mtime_to_source_date_epoch 1',
    specFile,
  ]);
  const out = join(OUT, RPM_NAME);
  run('mv', [join(top, 'RPMS/x86_64', RPM_NAME), out]);
  done();
  return out;
}
