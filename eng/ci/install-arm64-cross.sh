#!/usr/bin/env bash
# Installs what a linux-arm64 NativeAOT cross-publish and its qemu run need on an x64 Debian 12 machine, and nothing
# that is already there. Idempotent.
#   link:  clang (the driver NativeAOT calls with --target=aarch64-linux-gnu), binutils-aarch64-linux-gnu (its
#          aarch64-linux-gnu-ld.bfd: NativeAOT's default linker flavour on Linux is bfd), and the arm64 crt objects,
#          libc/libm and libgcc of Debian's *-arm64-cross packages (under /usr/aarch64-linux-gnu). No zlib: .NET 10
#          links its own, so zlib1g-dev:arm64 and libc6-dev:arm64 are not needed.
#   run:   qemu-user, and the arm64 loader and libc for a plain `qemu-aarch64 <binary>` run, from the arm64 dpkg
#          architecture: libc6:arm64. Nothing else: the binary loads no other library (no OpenSSL: the weights'
#          SHA-256 is managed; eng/ci/bare-root.sh checks it).
set -euo pipefail

need=()
command -v clang >/dev/null || need+=(clang)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
for pkg in libc6-dev-arm64-cross libgcc-12-dev-arm64-cross binutils-aarch64-linux-gnu; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
for pkg in libc6:arm64; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
  echo "arm64 cross toolchain and run-time libraries: already installed"
  exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
