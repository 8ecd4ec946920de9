# Sourced by the set-up scripts: make apt know Debian source package PKG at VERSION.
#
#   . firmware/deb-src.sh && ensure_deb_src PKG VERSION SUITE
#
# When apt has no source for that version, a deb-src entry for SUITE (with its -updates
# and -security suites) is written to /etc/apt/sources.list.d/microai-SUITE-src.sources,
# as root or with sudo, and the index is updated. Returns non-zero, with a message, when
# the version still cannot be found.
ensure_deb_src() {
    _pkg=$1
    _version=$2
    _suite=$3
    if apt-cache showsrc "$_pkg" 2>/dev/null | grep -qx "Version: $_version"; then
        return 0
    fi
    if [ "$(id -u)" = 0 ]; then _sudo=""; else _sudo="sudo"; fi
    _list=/etc/apt/sources.list.d/microai-$_suite-src.sources
    echo "microai: adding deb-src entries for Debian $_suite ($_list)"
    if ! printf '%s\n' \
            "Types: deb-src" "URIs: http://deb.debian.org/debian" \
            "Suites: $_suite $_suite-updates" "Components: main" \
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" "" \
            "Types: deb-src" "URIs: http://deb.debian.org/debian-security" \
            "Suites: $_suite-security" "Components: main" \
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
            | $_sudo tee "$_list" >/dev/null; then
        echo "microai: cannot write $_list; add a deb-src line for $_suite by hand" >&2
        return 1
    fi
    $_sudo apt-get update -q
    if ! apt-cache showsrc "$_pkg" 2>/dev/null | grep -qx "Version: $_version"; then
        echo "microai: apt knows no source package $_pkg=$_version" >&2
        return 1
    fi
}
