#!/usr/bin/env bash
# The start-up benchmark: packs MobileViT.Compiled, publishes this consumer of the package as a NativeAOT binary the
# way a user does (`dotnet publish -r <rid> -p:PublishAot=true`, nothing else set unless given), and runs it.
#   benchmarks/MobileViT.Compiled.StartupBenchmarks/run.sh [publish options --] [run arguments]
#   e.g.  run.sh -- run 15 1          run.sh -- run 9 2 mobilevit-small          run.sh -- probe ours mobilevit-small 1 0
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
publish=()
if [[ " $* " == *" -- "* ]]; then
  while [ "$1" != "--" ]; do publish+=("$1"); shift; done
  shift
fi
rid="linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
tag="$(printf '%s' "${publish[*]:-default}" | tr -c 'A-Za-z0-9.-' '_')"
out="$root/artifacts/startup-bench/$rid-$tag"

dotnet pack "$root/src/Runtime/MobileViT.Compiled.Runtime.csproj" -c Release -o "$root/artifacts/packages" -nologo -v q
rm -rf "$root/artifacts/startup-bench/nuget-packages/mobilevit.compiled"   # the version stays 0.1.0: never reuse a stale copy
dotnet publish "$here/MobileViT.Compiled.StartupBenchmarks.csproj" -c Release -r "$rid" -p:PublishAot=true "${publish[@]}" \
  -o "$out" -nologo -v q
"$out/MobileViT.Compiled.StartupBenchmarks" "$@"
