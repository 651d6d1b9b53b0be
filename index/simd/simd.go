// Package simd names the x86-64 SIMD levels Vigil's native code is built for and tells which one
// the running CPU offers. The build picks FAISS's compiler flags from it; vigil checks at start-up
// that the CPU still offers the level the binary was built for. Pure Go; safe for concurrent use.
package simd

import (
	"fmt"

	"github.com/klauspost/cpuid/v2"
)

// Level is a set of instruction-set extensions, ordered: a higher level implies the lower ones.
type Level int

const (
	Generic Level = iota // baseline x86-64 (SSE2)
	AVX2                 // AVX2 + FMA + F16C + POPCNT (x86-64-v3)
	AVX512               // AVX2 level + AVX-512 F/CD/VL/DQ/BW (x86-64-v4)
)

var names = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

func (l Level) String() string {
	if l < Generic || l > AVX512 {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return names[l]
}

// Parse is the inverse of String.
func Parse(s string) (Level, error) {
	for l, n := range names {
		if n == s {
			return Level(l), nil
		}
	}
	return Generic, fmt.Errorf("unknown SIMD level %q (want generic, avx2 or avx512)", s)
}

// features lists what each level needs beyond the one below it.
var features = [...][]cpuid.FeatureID{
	Generic: nil,
	AVX2:    {cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.F16C, cpuid.POPCNT},
	AVX512:  {cpuid.AVX512F, cpuid.AVX512CD, cpuid.AVX512VL, cpuid.AVX512DQ, cpuid.AVX512BW},
}

// Missing returns the features of level l (and the levels below it) that cpu lacks.
func Missing(cpu *cpuid.CPUInfo, l Level) []string {
	var out []string
	for lv := Generic; lv <= l && lv <= AVX512; lv++ {
		for _, f := range features[lv] {
			if !cpu.Supports(f) {
				out = append(out, f.String())
			}
		}
	}
	return out
}

// Of returns the highest level cpu supports in full.
func Of(cpu *cpuid.CPUInfo) Level {
	best := Generic
	for l := AVX2; l <= AVX512; l++ {
		if len(Missing(cpu, l)) > 0 {
			break
		}
		best = l
	}
	return best
}

// CPU returns the highest level the running CPU supports.
func CPU() Level { return Of(&cpuid.CPU) }

// CheckCPU reports an error naming what is missing when the running CPU cannot execute code built
// for level l.
func CheckCPU(l Level) error {
	if m := Missing(&cpuid.CPU, l); len(m) > 0 {
		return fmt.Errorf("this binary was built for %s but this CPU (%s) lacks %v; rebuild on this machine with `make clean && make`",
			l, cpuid.CPU.BrandName, m)
	}
	return nil
}

// CFlags returns the compiler flags that let GCC use level l.
func (l Level) CFlags() []string {
	switch l {
	case AVX2:
		return []string{"-mavx2", "-mfma", "-mf16c", "-mpopcnt"}
	case AVX512:
		return []string{"-mavx2", "-mfma", "-mf16c", "-mpopcnt",
			"-mavx512f", "-mavx512cd", "-mavx512vl", "-mavx512dq", "-mavx512bw"}
	}
	return nil
}
