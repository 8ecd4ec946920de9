#!/bin/sh
# Unpack MicroPython from Debian's pinned source package into $1 (default
# build/micropython), with the Debian patches applied. Idempotent.
#
# The package is micropython 1.25.0+ds-1 from the stable suite (trixie). When apt knows
# no source for that version, a deb-src entry for trixie is added. apt-get checks the
# signed index and the .dsc hashes; this script also checks the tarballs against the
# SHA-256 sums pinned below, so a changed upstream file stops the build.
set -eu

VERSION=1.25.0+ds-1
SUITE=trixie
ORIG=micropython_1.25.0+ds.orig.tar.xz
ORIG_SHA256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea
DEBIAN=micropython_1.25.0+ds-1.debian.tar.xz
DEBIAN_SHA256=87cd89f7900c86b963885dabe25acf3e5348815993f1500278ad8f6464465af4

DEST=${1:-build/micropython}
STAMP="$DEST/.microai-source-$VERSION"
[ -f "$STAMP" ] && exit 0

. "$(dirname "$0")/deb-src.sh"
if ! ensure_deb_src micropython "$VERSION" "$SUITE"; then
    echo "microai: set MPY_DIR=/path/to/a/micropython/checkout to build against your own." >&2
    exit 1
fi

DL="$(dirname "$DEST")/debian-src"
mkdir -p "$DL"
( cd "$DL" && apt-get source --download-only "micropython=$VERSION" )

check() {
    got=$(sha256sum "$DL/$1" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then
        echo "microai: checksum mismatch for $1: got $got, pinned $2" >&2
        exit 1
    fi
}
check "$ORIG" "$ORIG_SHA256"
check "$DEBIAN" "$DEBIAN_SHA256"

rm -rf "$DEST"
# dpkg-source verifies the .dsc hashes, unpacks and applies debian/patches (quilt).
dpkg-source --require-strong-checksums -x "$DL/micropython_$VERSION.dsc" "$DEST"
touch "$STAMP"
echo "microai: MicroPython $VERSION unpacked in $DEST"
