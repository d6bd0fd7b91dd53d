#!/usr/bin/env bash
# The size of a NativeAOT app with one embedded model, fp32 against int8: packs the package, publishes this consumer
# (`dotnet publish -r <rid> -p:PublishAot=true`, nothing else set unless given) once with no model and once per model
# and precision, runs each binary once (it creates the model and runs it on zeros), and prints a markdown table of the
# binaries' sizes and of the prepared weights each embeds (obj/.../mobilevit/<model>-<hash>/weights.prepared, the
# embedded resource's bytes; the int8 item's folder is the one holding its own copy of config.json).
#   benchmarks/MobileViT.Compiled.SizeProbe/sizes.sh [publish options --] [model ...]
#   e.g.  sizes.sh          sizes.sh -p:IlcInstructionSet=x86-64-v4 -- mobilevit-small
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
publish=()
if [[ " $* " == *" -- "* ]]; then
  while [ "$1" != "--" ]; do publish+=("$1"); shift; done
  shift
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mobilevit-xx-small mobilevit-x-small mobilevit-small deeplabv3-mobilevit-xx-small mobilevit-xx-small-fashion)
rid="linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')"
tag="$(printf '%s' "${publish[*]:-default}" | tr -c 'A-Za-z0-9.-' '_')"
name=MobileViT.Compiled.SizeProbe

dotnet pack "$root/src/Runtime/MobileViT.Compiled.Runtime.csproj" -c Release -o "$root/artifacts/packages" -nologo -v q >&2
rm -rf "$root/artifacts/size-probe/nuget-packages/mobilevit.compiled"   # the version stays 0.1.0: never reuse a stale copy

mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

# publish <model|none> <precision>: prints the binary's size in bytes
publish() {
  local out="$root/artifacts/size-probe/$rid-$tag/$1-$2"
  dotnet publish "$here/$name.csproj" -c Release -r "$rid" -p:PublishAot=true -p:ProbeModel="$1" -p:ProbePrecision="$2" \
    "${publish[@]}" -o "$out" -nologo -v q >&2
  "$out/$name" >&2
  stat -c %s "$out/$name"
}

# prepared <model> <precision>: the prepared weights' size in bytes, right after that publish (a build deletes the
# prepared weights of models it no longer lists)
prepared() {
  local dir want=fp32
  [ "$2" = int8 ] && want=int8
  for dir in $(find "$here/obj" -type d -path "*/$rid/mobilevit/*" | grep -E "/$1-[0-9a-f]{8}\$"); do
    local has=fp32
    [ -f "$dir/config.json" ] && has=int8
    if [ "$has" = "$want" ] && [ -f "$dir/weights.prepared" ]; then
      stat -c %s "$dir/weights.prepared"
      return
    fi
  done
  echo "no prepared weights of $1 ($2) under $here/obj" >&2
  exit 1
}

none=$(publish none fp32)
echo "$(date -u '+%Y-%m-%d %H:%M') UTC, $rid, publish options: ${publish[*]:-none}; MB = 10^6 bytes"
echo "a consumer of the package with no model: $(mb "$none") MB"
echo
echo "| model | safetensors MB | fp32: prepared weights MB | fp32: binary MB | int8: prepared weights MB | int8: binary MB | int8 / fp32: weights | int8 / fp32: binary |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for model in "${models[@]}"; do
  fb=$(publish "$model" fp32); fw=$(prepared "$model" fp32)
  ib=$(publish "$model" int8); iw=$(prepared "$model" int8)
  st=$(stat -c %s "$root/tests/fixtures/models/$model/model.safetensors")
  echo "| $model | $(mb "$st") | $(mb "$fw") | $(mb "$fb") | $(mb "$iw") | $(mb "$ib") | $(awk -v a="$iw" -v b="$fw" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$ib" -v b="$fb" 'BEGIN { printf "%.2f", a / b }') |"
done
