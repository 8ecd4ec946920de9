#!/bin/sh
# Install the Debian packages microai builds and tests with. Idempotent: does nothing
# when every package is already installed. Needs root or sudo; without either it prints
# the exact command to run and fails.
set -eu

# clang, libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) and llvm (llvm-cov,
# llvm-profdata): make fuzz and make test-fuzz.
PACKAGES="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libffi-dev \
libmbedtls-dev pkg-config dpkg-dev build-essential util-linux \
clang libclang-rt-14-dev llvm"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "microai: these Debian packages are missing:$missing" >&2
    echo "microai: install them as root, then run make again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi

echo "microai: installing Debian packages:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
