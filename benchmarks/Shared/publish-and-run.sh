#!/usr/bin/env bash
# Packs MobileViT.Compiled, publishes a benchmark that consumes the package as a NativeAOT binary the way a user does
# (`dotnet publish -r <rid> -p:PublishAot=true`, nothing else set unless given), and runs it. Used by the run.sh of
# MobileViT.Compiled.AotBenchmarks and MobileViT.Compiled.StartupBenchmarks.
#   publish-and-run.sh <project dir> <artifacts subfolder> [publish options --] [benchmark arguments]
set -euo pipefail
project="$(cd "$1" && pwd)"
folder="$2"
shift 2
root="$(cd "$(dirname "$0")/../.." && pwd)"
publish=()
if [[ " $* " == *" -- "* ]]; then
  while [ "$1" != "--" ]; do publish+=("$1"); shift; done
  shift
fi
rid="linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
tag="$(printf '%s' "${publish[*]:-default}" | tr -c 'A-Za-z0-9.-' '_')"
out="$root/artifacts/$folder/$rid-$tag"
name="$(basename "$project")"

dotnet pack "$root/src/Runtime/MobileViT.Compiled.Runtime.csproj" -c Release -o "$root/artifacts/packages" -nologo -v q
rm -rf "$root/artifacts/$folder/nuget-packages/mobilevit.compiled"   # the version stays 0.1.0: never reuse a stale copy
dotnet publish "$project/$name.csproj" -c Release -r "$rid" -p:PublishAot=true "${publish[@]}" -o "$out" -nologo -v q
"$out/$name" "$@"
