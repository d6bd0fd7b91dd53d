#!/usr/bin/env bash
# Runs the NativeAOT `mobilevit` binary in a bare root filesystem: a folder holding only the binary, the shared
# libraries its ELF header asks for (and theirs), and samples/images. No OpenSSL, no ICU, no /proc, no /etc, no
# .NET: a library the runtime would dlopen at run time (libssl for System.Security.Cryptography, libicu for
# culture data) is missing there, and the binary aborts instead of answering.
#
#   eng/ci/bare-root.sh <binary> <expected-answers.json> [qemu-aarch64]
#
# <expected-answers.json> is `mobilevit samples/images --json --top 3` run from the repository root (e.g. by
# `dotnet run`); the file, index and label fields must be equal. For an arm64 binary pass the qemu user emulator:
# a static one (Debian's qemu-user-static, /usr/bin/qemu-aarch64-static) is copied into the root and the binary
# runs under chroot; the dynamic one (Debian's qemu-user, /usr/bin/qemu-aarch64) cannot run inside the root
# without the host's libraries, so it runs outside with `-L <root>`: the guest's loader and libraries come from
# the root, and the host has no arm64 libssl or libicu for it to find instead (the script checks).
# Needs root for chroot (or unprivileged user namespaces: it falls back to unshare). Keeps the root on failure.
set -euo pipefail

usage() { echo "usage: $0 <binary> <expected-answers.json> [qemu-aarch64]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
binary=$(realpath "$1")
expected=$(realpath "$2")
qemu=${3:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 2; }
[ -f "$expected" ] || { echo "error: $expected not found" >&2; exit 2; }

root=$(mktemp -d /tmp/bare-root.XXXXXX)
echo "bare root: $root"

# Copies a library (following symlinks) to the same path inside the root.
place() { mkdir -p "$root$(dirname "$2")"; cp -L "$1" "$root$2"; }

machine=$(od -An -j18 -N2 -tu2 "$binary" | tr -d ' ') # e_machine: 62 x86-64, 183 aarch64
if [ "$machine" = 183 ]; then
  [ -n "$qemu" ] || { echo "error: $binary is an arm64 binary: pass the qemu-aarch64 emulator" >&2; exit 2; }
  sysroot=/usr/aarch64-linux-gnu
  readelf=aarch64-linux-gnu-readelf
  interpreter=$("$readelf" -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  place "$sysroot/lib/$(basename "$interpreter")" "$interpreter"
  # The NEEDED entries, transitively, from the cross sysroot (ldd cannot run an arm64 binary).
  pending=("$binary") seen=" "
  while [ ${#pending[@]} -gt 0 ]; do
    elf=${pending[0]} pending=("${pending[@]:1}")
    for lib in $("$readelf" -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case "$seen" in *" $lib "*) continue ;; esac
      seen="$seen$lib "
      [ -e "$sysroot/lib/$lib" ] || { echo "error: $lib (needed by $elf) is not in $sysroot/lib" >&2; exit 1; }
      place "$sysroot/lib/$lib" "/lib/aarch64-linux-gnu/$lib"
      pending+=("$sysroot/lib/$lib")
    done
  done
elif [ "$machine" = 62 ]; then
  [ -z "$qemu" ] || { echo "error: $binary is an x86-64 binary: no emulator needed" >&2; exit 2; }
  # ldd lists the loader and every library the binary needs, transitively, as absolute paths.
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do place "$lib" "$lib"; done
else
  echo "error: $binary is neither an x86-64 nor an arm64 ELF executable (e_machine $machine)" >&2
  exit 2
fi
cp "$binary" "$root/mobilevit"
mkdir -p "$root/samples"
cp -r "$repo/samples/images" "$root/samples/images"
echo "contents:" && (cd "$root" && find . -type f ! -path './samples/*' | sort | sed 's/^/  /')

enter() { if [ "$(id -u)" = 0 ]; then chroot "$@"; else unshare --map-root-user chroot "$@"; fi; }
args=(samples/images --json --top 3)
set +e
if [ -z "$qemu" ]; then
  enter "$root" /mobilevit "${args[@]}" > "$root.answers.json" 2> "$root.stderr"
elif file -L "$(command -v "$qemu")" | grep -q 'statically linked'; then
  cp -L "$(command -v "$qemu")" "$root/qemu-aarch64-static"
  enter "$root" /qemu-aarch64-static /mobilevit "${args[@]}" > "$root.answers.json" 2> "$root.stderr"
else
  for host in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu; do
    if compgen -G "$host/libssl*" > /dev/null || compgen -G "$host/libicu*" > /dev/null; then
      echo "error: $host holds arm64 libssl/libicu, which qemu -L would fall back to: use qemu-aarch64-static" >&2
      exit 1
    fi
  done
  (cd "$root" && "$qemu" -L "$root" ./mobilevit "${args[@]}") > "$root.answers.json" 2> "$root.stderr"
fi
code=$?
set -e
cat "$root.stderr" >&2
if [ $code -ne 0 ]; then
  echo "FAILED: mobilevit exited with code $code in the bare root $root (134 = aborted, e.g. a missing libssl or libicu)" >&2
  exit 1
fi

answers() { grep -o '"file":"[^"]*"\|"index":[0-9]*\|"label":"[^"]*"' "$1" || true; }
if ! diff <(answers "$expected") <(answers "$root.answers.json"); then
  echo "FAILED: the answers in the bare root ($root.answers.json) differ from $expected" >&2
  exit 1
fi
count=$(answers "$root.answers.json" | grep -c '"file"' || true)
[ "$count" -gt 0 ] || { echo "FAILED: no answers in $root.answers.json" >&2; exit 1; }
echo "bare root: $count images, the same file, index and label as $expected"
rm -rf "$root" "$root.answers.json" "$root.stderr"
