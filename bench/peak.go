package bench

import (
	"runtime"
	"strconv"

	"github.com/klauspost/cpuid/v2"

	"vigil/index/simd"
)

// PeakGFLOPS estimates the CPU's FP32 peak over all cores, in GFLOP/s: cores × clock × FLOPs per
// cycle, where a core retires two fused multiply-adds per cycle on its widest vectors (AVX-512:
// 2×16 lanes×2 = 64 FLOPs; AVX2: 32; otherwise 16). Clock: the CPU's stated frequency (cpuid),
// else /proc/cpuinfo's "cpu MHz". A ceiling for utilisation figures, not a promise: turbo,
// one-FMA-unit parts and virtual CPUs move it; `vigil bench pipeline --peak-gflops` overrides it.
// 0 if the clock is unknown.
func PeakGFLOPS() float64 {
	ghz := float64(cpuid.CPU.Hz) / 1e9
	if ghz <= 0 {
		ghz = procMHz() / 1e3
	}
	if ghz <= 0 {
		return 0
	}
	perCycle := 16.0
	switch simd.CPU() {
	case simd.AVX512:
		perCycle = 64
	case simd.AVX2:
		perCycle = 32
	}
	return float64(runtime.NumCPU()) * ghz * perCycle
}

func procMHz() float64 {
	f, _ := strconv.ParseFloat(cpuinfo("cpu MHz"), 64)
	return f
}
