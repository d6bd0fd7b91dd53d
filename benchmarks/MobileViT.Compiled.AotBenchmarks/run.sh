#!/usr/bin/env bash
# The shipped-speed benchmark: packs the package, publishes this consumer NativeAOT and runs it (../Shared/publish-and-run.sh).
#   benchmarks/MobileViT.Compiled.AotBenchmarks/run.sh [publish options --] [benchmark arguments]
#   e.g.  run.sh -- paired 1 15          run.sh -p:IlcInstructionSet=x86-64-v4 -- paired 2 15 mobilevit-small
exec "$(dirname "$0")/../Shared/publish-and-run.sh" "$(dirname "$0")" aot-bench "$@"
