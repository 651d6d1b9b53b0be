package vec

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestNoOverread runs every kernel at every level on slices that end exactly where an
// inaccessible page begins: a kernel reading or writing one byte past its slice crashes the test.
func TestNoOverread(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[3*page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	usable := mem[:3*page]
	// tail returns the last n elements of T before the guard page.
	floats := func(n int) []float32 {
		all := unsafe.Slice((*float32)(unsafe.Pointer(&usable[0])), len(usable)/4)
		return all[len(all)-n:]
	}
	bytes := func(n int) []uint8 { return usable[len(usable)-n:] }
	for _, l := range levels(t) {
		for _, n := range sizes {
			if 3*n*4 > len(usable) {
				continue
			}
			v := floats(n)
			for i := range v {
				v[i] = float32(i%7) - 3
			}
			q := append([]float32(nil), v...)
			var out [1]float32
			dotBatch(l, q, v, out[:]) // base ends at the guard
			dotBatch(l, v, q, out[:]) // query ends at the guard
			sumSquares(l, v)
			scale(l, v, 0.5)
			normalize(l, v)

			pix := bytes(3 * n)
			planes := make([]float32, 3*n)
			split(l, planes[:n], planes[n:2*n], planes[2*n:], pix, &[3]float32{1, 1, 1}, &[3]float32{})
			dst := floats(3 * n) // the last plane's end at the guard
			split(l, dst[:n], dst[n:2*n], dst[2*n:], make([]uint8, 3*n), &[3]float32{1, 1, 1}, &[3]float32{})

			row := bytes(n) // every row ends at the guard, then acc does
			for k := 1; k <= 4; k++ {
				sumRows(l, make([]uint32, n), [4][]uint8{row, row, row, row}, [4]uint32{1, 2, 3, 4}, k, false)
				sumRows(l, make([]uint32, n), [4][]uint8{row, row, row, row}, [4]uint32{1, 2, 3, 4}, k, true)
			}
			if n > 0 { // taps up to the last pixel of an acc that ends at the guard
				sn := n
				accT := unsafe.Slice((*uint32)(unsafe.Pointer(&floats(3 * sn)[0])), 3*sn)
				start, cnt, off := []int32{0, int32(sn - 1), int32(max(0, sn-3))}, []int32{1, 1, int32(min(3, sn))}, []int32{0, 0, 0}
				sumTaps(l, make([]uint8, 9), accT, start, cnt, off, []uint32{1, 2, 3}, 22)
				sumTaps(l, bytes(9), make([]uint32, 3*sn), start, cnt, off, []uint32{1, 2, 3}, 22) // out ends at the guard
			}
			if n > 0 { // acc ends at the guard
				acc := unsafe.Slice((*uint32)(unsafe.Pointer(&v[0])), n)
				z := make([]uint8, n)
				sumRows(l, acc, [4][]uint8{z}, [4]uint32{1}, 1, true)
				sumRows(l, acc, [4][]uint8{z, z, z}, [4]uint32{1, 2, 3}, 3, false)
			}
		}
	}
}
