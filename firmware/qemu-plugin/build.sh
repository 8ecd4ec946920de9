#!/bin/sh
# Build build/qemu-plugin/libmaicount.so, microai's instruction-counting QEMU TCG plugin
# (firmware/qemu-plugin/maicount.c). Idempotent, and a no-op when the .so is up to date.
#
# The plugin is compiled against qemu-plugin.h from the Debian source package of the
# installed qemu-system-arm (plugin API of that exact QEMU), never against a copy kept
# here. apt-get downloads the source package into build/qemu-src and checks it (signed
# index, then the .dsc hashes); dpkg-source checks the tarball against the .dsc again
# before only include/qemu/qemu-plugin.h is taken out of it. When apt knows no source
# for that version, deb-src entries for bookworm (and its updates and security suites)
# are added, as root or with sudo.
#
#   firmware/qemu-plugin/build.sh [OUTDIR]     (default build/qemu-plugin)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/build/qemu-plugin}
SRC_DIR=$ROOT/build/qemu-src
SUITE=bookworm
CC=${CC:-gcc}

# The source package and version the installed binary was built from (a binNMU such as
# +b3 has the same source version without the suffix).
VERSION=$(dpkg-query -W -f='${source:Version}' qemu-system-arm 2>/dev/null || true)
if [ -z "$VERSION" ]; then
    echo "microai: qemu-system-arm is not installed: run make setup" >&2
    exit 1
fi
UPSTREAM=${VERSION#*:}            # 7.2+dfsg-7+deb12u18
UPSTREAM=${UPSTREAM%-*}           # 7.2+dfsg
UPSTREAM_REV=${VERSION#*:}        # 7.2+dfsg-7+deb12u18 (no epoch: no colon in -I)
HDR_DIR=$SRC_DIR/include-$UPSTREAM_REV
HDR=$HDR_DIR/qemu/qemu-plugin.h
SO=$OUT/libmaicount.so

# ---- the header ------------------------------------------------------------------------
if [ ! -f "$HDR" ]; then
    . "$ROOT/firmware/deb-src.sh"
    if ! ensure_deb_src qemu "$VERSION" "$SUITE"; then
        echo "microai: cannot fetch qemu-plugin.h for the installed qemu-system-arm." >&2
        exit 1
    fi
    mkdir -p "$SRC_DIR"
    ( cd "$SRC_DIR" && apt-get source --download-only -q "qemu=$VERSION" )
    DSC=$SRC_DIR/qemu_$UPSTREAM_REV.dsc
    ORIG=$(ls "$SRC_DIR"/qemu_"$UPSTREAM".orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n1)
    if [ ! -f "$DSC" ] || [ -z "$ORIG" ]; then
        echo "microai: apt-get source left no $DSC or orig tarball in $SRC_DIR" >&2
        exit 1
    fi
    # Check the tarball against the .dsc's SHA-256 (apt did too, while downloading).
    want=$(awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f && $3=="'"$(basename "$ORIG")"'"{print $1}' "$DSC")
    got=$(sha256sum "$ORIG" | cut -d' ' -f1)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        echo "microai: $ORIG does not match $DSC (sha256 $got, .dsc says ${want:-nothing})" >&2
        exit 1
    fi
    # Debian builds the header as it is in the orig tarball unless a patch changes it.
    DEBTAR=$(ls "$SRC_DIR"/qemu_"$UPSTREAM_REV".debian.tar.* | head -n1)
    if tar -xOf "$DEBTAR" --wildcards 'debian/patches/*' | grep -q '^+++ .*include/qemu/qemu-plugin\.h'; then
        echo "microai: a Debian patch of qemu $VERSION changes qemu-plugin.h; this script" >&2
        echo "microai: takes the header from the orig tarball only: unpack and patch instead" >&2
        exit 1
    fi
    tmp=$SRC_DIR/tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xf "$ORIG" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
    mkdir -p "$HDR_DIR/qemu"
    mv "$tmp"/*/include/qemu/qemu-plugin.h "$HDR"
    rm -rf "$tmp"
    echo "microai: qemu-plugin.h of qemu $VERSION in $HDR_DIR"
fi

# ---- the plugin ------------------------------------------------------------------------
if [ -f "$SO" ] && [ "$SO" -nt "$HERE/maicount.c" ] && [ "$SO" -nt "$HDR" ] \
        && [ "$SO" -nt "$HERE/build.sh" ]; then
    exit 0
fi
# qemu-plugin.h of QEMU 7.2 needs no glib; later versions include <glib.h>.
GLIB_CFLAGS=""
if grep -q '<glib.h>' "$HDR"; then
    GLIB_CFLAGS=$(pkg-config --cflags glib-2.0) || {
        echo "microai: this qemu-plugin.h needs glib's headers: install libglib2.0-dev" >&2
        exit 1
    }
fi
mkdir -p "$OUT"
# shellcheck disable=SC2086
$CC -shared -fPIC -O2 -std=gnu11 -Wall -Wextra -Werror $GLIB_CFLAGS -I"$HDR_DIR/qemu" \
    -o "$SO.tmp" "$HERE/maicount.c"
mv "$SO.tmp" "$SO"
echo "microai: built $SO"
