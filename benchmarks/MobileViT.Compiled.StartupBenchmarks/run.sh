#!/usr/bin/env bash
# The start-up benchmark as shipped: packs the package, publishes this consumer NativeAOT and runs it (../Shared/publish-and-run.sh).
#   benchmarks/MobileViT.Compiled.StartupBenchmarks/run.sh [publish options --] [run arguments]
#   e.g.  run.sh -- run 15 1          run.sh -- run 9 2 mobilevit-small          run.sh -- cold mobilevit-small
exec "$(dirname "$0")/../Shared/publish-and-run.sh" "$(dirname "$0")" startup-bench "$@"
