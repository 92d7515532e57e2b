#!/usr/bin/env bash
# Makes sure this host's copy of Debian's archive keyring can check Debian's current releases; if not,
# installs the current debian-archive-keyring package from Debian itself. Needed on Ubuntu 22.04,
# whose debian-archive-keyring (2021) predates the keys that sign bookworm today (12/bookworm,
# 13/trixie), so the VM image build and kernel fetch would fail with NO_PUBKEY. docs/gradescope/setup.sh
# runs it; it needs curl, gpgv, xz and dpkg, and the network (HTTPS to deb.debian.org).
#
# Overridable for a test: NETLAB_KEYRING_MIRROR (default https://deb.debian.org/debian) and
# NETLAB_DEBIAN_KEYRING (a keyring file to check and replace, instead of installing the package).
set -euo pipefail
MIRROR=${NETLAB_KEYRING_MIRROR:-https://deb.debian.org/debian}
KEYRING=${NETLAB_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The keyring is good when it verifies the Release file of bookworm (the suite the VM image is built from).
curl -fsSL "$MIRROR/dists/bookworm/InRelease" -o "$tmp/InRelease"
checks() { [ -s "$KEYRING" ] && gpgv --keyring "$KEYRING" "$tmp/InRelease" >/dev/null 2>&1; }
if checks; then
  echo "debian-keyring: $KEYRING checks Debian's bookworm already"
  exit 0
fi

# The package's file name and checksum from the index of Debian's stable release (TLS is the trust here:
# the keyring on this host cannot check that index, which is the problem being fixed).
curl -fsSL "$MIRROR/dists/stable/main/binary-all/Packages.xz" -o "$tmp/Packages.xz"
read -r file sha < <(xz -dc "$tmp/Packages.xz" | awk '
  /^Package: / { p = ($2 == "debian-archive-keyring") }
  p && /^Filename: / { f = $2 }
  p && /^SHA256: / { s = $2 }
  p && /^$/ { if (f != "") { print f, s; exit } }')
[ -n "${file:-}" ] || { echo "debian-keyring: no debian-archive-keyring in $MIRROR stable" >&2; exit 1; }
deb=$tmp/$(basename "$file")
curl -fsSL "$MIRROR/$file" -o "$deb"
echo "$sha  $deb" | sha256sum -c --quiet

if [ -n "${NETLAB_DEBIAN_KEYRING:-}" ]; then
  dpkg-deb -x "$deb" "$tmp/x"
  cp -L "$tmp/x/usr/share/keyrings/debian-archive-keyring.gpg" "$KEYRING"
else
  dpkg -i "$deb" >/dev/null
fi
if ! checks; then
  echo "debian-keyring: $(basename "$file") does not check Debian's bookworm either" >&2
  exit 1
fi
echo "debian-keyring: installed Debian's $(basename "$file"): $KEYRING checks Debian's bookworm"
