package simd

import (
	"testing"

	"github.com/klauspost/cpuid/v2"
)

func TestParseRoundTrip(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		got, err := Parse(l.String())
		if err != nil || got != l {
			t.Fatalf("Parse(%q) = %v, %v; want %v", l.String(), got, err, l)
		}
	}
	if _, err := Parse("sse9"); err == nil {
		t.Fatal("Parse(sse9) succeeded; want error")
	}
}

func TestOfFollowsFeatures(t *testing.T) {
	var cpu cpuid.CPUInfo // no features at all
	if got := Of(&cpu); got != Generic {
		t.Fatalf("featureless CPU: got %v, want generic", got)
	}
	if m := Missing(&cpu, AVX2); len(m) != len(features[AVX2]) {
		t.Fatalf("featureless CPU misses %v for avx2; want all of %v", m, features[AVX2])
	}
	if len(Missing(&cpu, Generic)) != 0 {
		t.Fatal("every CPU runs generic code")
	}
}

func TestRunningCPUPassesItsOwnLevel(t *testing.T) {
	l := CPU()
	if err := CheckCPU(l); err != nil {
		t.Fatalf("CheckCPU(CPU()=%v): %v", l, err)
	}
	if l < AVX512 && CheckCPU(AVX512) == nil {
		t.Fatalf("CPU level %v but CheckCPU(avx512) passed", l)
	}
	t.Logf("CPU %q offers %v", cpuid.CPU.BrandName, l)
}
