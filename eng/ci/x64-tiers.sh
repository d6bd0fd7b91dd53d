#!/usr/bin/env bash
# The x64 vector tiers. NativeAOT fixes the instruction set at compile time, so each tier is its own publish of the
# self-check: x86-64-v4 (AVX-512) runs natively when this CPU has AVX-512F and must report Vector512; x86-64-v3 runs
# under qemu-x86_64 -cpu Haswell (AVX2 + FMA, no AVX-512) and must report Vector256; x86-64-v2 runs under
# qemu-x86_64 -cpu Nehalem (SSE4.2, no AVX) and must report Vector128.
#   SELFCHECK_ARGS (default --quick) is passed to the emulated runs; the native v4 run is the full self-check.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { local label=$1 start=$SECONDS; shift; "$@"; echo "time: $label: $((SECONDS - start)) s"; }

command -v qemu-x86_64 >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
}

for level in v4 v3 v2; do
  out=artifacts/selfcheck/linux-x64-$level
  rm -rf "$out"
  step "publish self-check x86-64-$level" \
    dotnet publish tests/MobileViT.Compiled.SelfCheck -c Release -r linux-x64 -p:IlcInstructionSet=x86-64-$level -o "$out"
done

if grep -qw avx512f /proc/cpuinfo; then
  step "self-check x86-64-v4, native" artifacts/selfcheck/linux-x64-v4/mobilevit-selfcheck --expect-path Vector512
else
  echo "this CPU has no AVX-512F: the x86-64-v4 self-check was built but not run"
fi
step "self-check x86-64-v3 under qemu-x86_64 -cpu Haswell" \
  qemu-x86_64 -cpu Haswell artifacts/selfcheck/linux-x64-v3/mobilevit-selfcheck ${SELFCHECK_ARGS---quick} --expect-path Vector256
step "self-check x86-64-v2 under qemu-x86_64 -cpu Nehalem" \
  qemu-x86_64 -cpu Nehalem artifacts/selfcheck/linux-x64-v2/mobilevit-selfcheck ${SELFCHECK_ARGS---quick} --expect-path Vector128
