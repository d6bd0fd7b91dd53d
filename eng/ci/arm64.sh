#!/usr/bin/env bash
# linux-arm64 as a first-class target, checked from an x64 machine: cross-publishes the mobilevit CLI and the self-check
# as NativeAOT linux-arm64 binaries, runs the self-check under qemu-aarch64 (kernels vs their reference twins on the
# NEON path, models vs the reference; every kernel must report Vector128), and runs the CLI on samples/images under
# qemu and compares its top-3 answers with the x64 AOT build's.
#   usage: eng/ci/arm64.sh X64_ANSWERS_JSON   (the output of: mobilevit samples/images --json --top 3, x64 AOT build)
#   SELFCHECK_ARGS (default --quick) is passed to the self-check: empty runs all of it.
set -euo pipefail
x64_answers=$(realpath "${1:?usage: eng/ci/arm64.sh X64_ANSWERS_JSON}")
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

step() { local label=$1 start=$SECONDS; shift; "$@"; echo "time: $label: $((SECONDS - start)) s"; }

step "install arm64 cross packages" bash eng/ci/install-arm64-cross.sh

cli=artifacts/aot/linux-arm64
selfcheck=artifacts/selfcheck/linux-arm64
rm -rf "$cli" "$selfcheck"
step "publish mobilevit linux-arm64" dotnet publish samples/Classify -c Release -r linux-arm64 -p:PublishAot=true -o "$cli"
step "publish self-check linux-arm64" dotnet publish tests/MobileViT.Compiled.SelfCheck -c Release -r linux-arm64 -o "$selfcheck"
for binary in "$cli/mobilevit" "$selfcheck/mobilevit-selfcheck"; do
  file "$binary"
  file "$binary" | grep -q 'ARM aarch64' || { echo "$binary is not an arm64 executable" >&2; exit 1; }
done
ls -l "$cli/mobilevit" "$selfcheck/mobilevit-selfcheck"

# No -L: the arm64 libc and libssl come from the arm64 dpkg architecture (see install-arm64-cross.sh). Mixing the
# cross sysroot's ld.so (-L /usr/aarch64-linux-gnu) with the libc.so.6 that the host's ld.so.cache then names hangs.
step "self-check under qemu-aarch64" qemu-aarch64 "$selfcheck/mobilevit-selfcheck" ${SELFCHECK_ARGS---quick} --expect-path Vector128

step "mobilevit on samples/images under qemu-aarch64" \
  sh -c "qemu-aarch64 '$cli/mobilevit' samples/images --json --top 3 > '$cli/answers.json'"
answers() { grep -o '"file":"[^"]*"\|"index":[0-9]*\|"label":"[^"]*"' "$1"; }
if ! diff <(answers "$cli/answers.json") <(answers "$x64_answers"); then
  echo "the arm64 binary's answers differ from the x64 build's" >&2
  exit 1
fi
[ "$(answers "$cli/answers.json" | grep -c '"file"')" -eq 10 ] || { echo "expected 10 answers" >&2; exit 1; }
echo "arm64 binary: same top-3 as the x64 build for the 10 sample images"

# The same binary in a bare root: only itself and the arm64 libraries its ELF asks for, under qemu.
step "mobilevit in an arm64 bare root" eng/ci/bare-root.sh "$cli/mobilevit" "$x64_answers" qemu-aarch64

# A consumer of the packed NuGet package (not the repository's from-source wiring) cross-publishes too, and its logits
# under qemu equal its x64 JIT build's to 1e-4 of the largest.
consumer=eng/ci/arm64-consumer/Consumer.csproj
rm -rf artifacts/arm64-consumer
step "pack MobileViT.Compiled" dotnet pack src/Runtime/MobileViT.Compiled.Runtime.csproj -c Release -o artifacts/packages
step "package consumer, x64 JIT" sh -c "dotnet run -c Release --project $consumer > artifacts/arm64-consumer-x64.txt"
step "publish package consumer linux-arm64" \
  dotnet publish "$consumer" -c Release -r linux-arm64 -p:PublishAot=true -o artifacts/arm64-consumer/publish
step "package consumer under qemu-aarch64" sh -c "qemu-aarch64 artifacts/arm64-consumer/publish/Consumer > artifacts/arm64-consumer-arm64.txt"
paste artifacts/arm64-consumer-x64.txt artifacts/arm64-consumer-arm64.txt | awk '
  { d = $1 - $2; if (d < 0) d = -d; if (d > diff) diff = d; a = $1 < 0 ? -$1 : $1; if (a > top) top = a; n++ }
  END { printf "package consumer: %d logits, max |x64 - arm64| %.3g (largest %.3g)\n", n, diff, top;
        exit !(n == 10 && diff <= 1e-4 * (top > 1 ? top : 1)) }'
