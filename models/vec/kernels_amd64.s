//go:build amd64

// Vector kernels, AVX2+FMA and AVX-512 (F only). Declarations and contracts in kernels_amd64.go
// and vec.go; generic.go is the reference. Go assembler operand order: sources first,
// destination last (VFMADD231PS m, x, acc is acc += x*m).
//
// Dot products keep four vector accumulators over 4 vectors of input per step, then one
// accumulator over single vectors, then one masked (zero-filled) load for the last partial
// vector, so nothing past the slices' ends is read; the accumulators are added pairwise and the
// lanes halved down to one. Masked loads never fault on masked-off lanes.

#include "textflag.h"

// tailmask: 8 all-ones words, 8 zero words. The 8 (or 4) words at &tailmask[8-k] mask the first k lanes.
DATA tailmask<>+0x00(SB)/4, $0xffffffff
DATA tailmask<>+0x04(SB)/4, $0xffffffff
DATA tailmask<>+0x08(SB)/4, $0xffffffff
DATA tailmask<>+0x0c(SB)/4, $0xffffffff
DATA tailmask<>+0x10(SB)/4, $0xffffffff
DATA tailmask<>+0x14(SB)/4, $0xffffffff
DATA tailmask<>+0x18(SB)/4, $0xffffffff
DATA tailmask<>+0x1c(SB)/4, $0xffffffff
DATA tailmask<>+0x20(SB)/4, $0x0
DATA tailmask<>+0x24(SB)/4, $0x0
DATA tailmask<>+0x28(SB)/4, $0x0
DATA tailmask<>+0x2c(SB)/4, $0x0
DATA tailmask<>+0x30(SB)/4, $0x0
DATA tailmask<>+0x34(SB)/4, $0x0
DATA tailmask<>+0x38(SB)/4, $0x0
DATA tailmask<>+0x3c(SB)/4, $0x0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// perm8: VPERMPS indexes gathering pixel k of channel c (global element 3k+c, at lane (3k+c) mod 8 after the blends) for c = R, G, B.
DATA perm8<>+0x00(SB)/4, $0x0
DATA perm8<>+0x04(SB)/4, $0x3
DATA perm8<>+0x08(SB)/4, $0x6
DATA perm8<>+0x0c(SB)/4, $0x1
DATA perm8<>+0x10(SB)/4, $0x4
DATA perm8<>+0x14(SB)/4, $0x7
DATA perm8<>+0x18(SB)/4, $0x2
DATA perm8<>+0x1c(SB)/4, $0x5
DATA perm8<>+0x20(SB)/4, $0x1
DATA perm8<>+0x24(SB)/4, $0x4
DATA perm8<>+0x28(SB)/4, $0x7
DATA perm8<>+0x2c(SB)/4, $0x2
DATA perm8<>+0x30(SB)/4, $0x5
DATA perm8<>+0x34(SB)/4, $0x0
DATA perm8<>+0x38(SB)/4, $0x3
DATA perm8<>+0x3c(SB)/4, $0x6
DATA perm8<>+0x40(SB)/4, $0x2
DATA perm8<>+0x44(SB)/4, $0x5
DATA perm8<>+0x48(SB)/4, $0x0
DATA perm8<>+0x4c(SB)/4, $0x3
DATA perm8<>+0x50(SB)/4, $0x6
DATA perm8<>+0x54(SB)/4, $0x1
DATA perm8<>+0x58(SB)/4, $0x4
DATA perm8<>+0x5c(SB)/4, $0x7
GLOBL perm8<>(SB), RODATA|NOPTR, $96

// perm16: the same for 16 lanes.
DATA perm16<>+0x00(SB)/4, $0x0
DATA perm16<>+0x04(SB)/4, $0x3
DATA perm16<>+0x08(SB)/4, $0x6
DATA perm16<>+0x0c(SB)/4, $0x9
DATA perm16<>+0x10(SB)/4, $0xc
DATA perm16<>+0x14(SB)/4, $0xf
DATA perm16<>+0x18(SB)/4, $0x2
DATA perm16<>+0x1c(SB)/4, $0x5
DATA perm16<>+0x20(SB)/4, $0x8
DATA perm16<>+0x24(SB)/4, $0xb
DATA perm16<>+0x28(SB)/4, $0xe
DATA perm16<>+0x2c(SB)/4, $0x1
DATA perm16<>+0x30(SB)/4, $0x4
DATA perm16<>+0x34(SB)/4, $0x7
DATA perm16<>+0x38(SB)/4, $0xa
DATA perm16<>+0x3c(SB)/4, $0xd
DATA perm16<>+0x40(SB)/4, $0x1
DATA perm16<>+0x44(SB)/4, $0x4
DATA perm16<>+0x48(SB)/4, $0x7
DATA perm16<>+0x4c(SB)/4, $0xa
DATA perm16<>+0x50(SB)/4, $0xd
DATA perm16<>+0x54(SB)/4, $0x0
DATA perm16<>+0x58(SB)/4, $0x3
DATA perm16<>+0x5c(SB)/4, $0x6
DATA perm16<>+0x60(SB)/4, $0x9
DATA perm16<>+0x64(SB)/4, $0xc
DATA perm16<>+0x68(SB)/4, $0xf
DATA perm16<>+0x6c(SB)/4, $0x2
DATA perm16<>+0x70(SB)/4, $0x5
DATA perm16<>+0x74(SB)/4, $0x8
DATA perm16<>+0x78(SB)/4, $0xb
DATA perm16<>+0x7c(SB)/4, $0xe
DATA perm16<>+0x80(SB)/4, $0x2
DATA perm16<>+0x84(SB)/4, $0x5
DATA perm16<>+0x88(SB)/4, $0x8
DATA perm16<>+0x8c(SB)/4, $0xb
DATA perm16<>+0x90(SB)/4, $0xe
DATA perm16<>+0x94(SB)/4, $0x1
DATA perm16<>+0x98(SB)/4, $0x4
DATA perm16<>+0x9c(SB)/4, $0x7
DATA perm16<>+0xa0(SB)/4, $0xa
DATA perm16<>+0xa4(SB)/4, $0xd
DATA perm16<>+0xa8(SB)/4, $0x0
DATA perm16<>+0xac(SB)/4, $0x3
DATA perm16<>+0xb0(SB)/4, $0x6
DATA perm16<>+0xb4(SB)/4, $0x9
DATA perm16<>+0xb8(SB)/4, $0xc
DATA perm16<>+0xbc(SB)/4, $0xf
GLOBL perm16<>(SB), RODATA|NOPTR, $192

// lowbytes: VPSHUFB indexes taking byte 0 of each 32-bit lane into bytes 0-3 (uint8(x), as Go).
DATA lowbytes<>+0x00(SB)/4, $0x0c080400
DATA lowbytes<>+0x04(SB)/4, $0x80808080
DATA lowbytes<>+0x08(SB)/4, $0x80808080
DATA lowbytes<>+0x0c(SB)/4, $0x80808080
GLOBL lowbytes<>(SB), RODATA|NOPTR, $16

// func dotBatchAVX512(q, base, out []float32)
// out[i] = q · base[i*dim:(i+1)*dim], dim = len(q), len(base) = dim*len(out).
TEXT ·dotBatchAVX512(SB), NOSPLIT, $0-72
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), R9
	MOVQ base_base+24(FP), DI
	MOVQ out_base+48(FP), DX
	MOVQ out_len+56(FP), R8

	// K1: the first dim%16 lanes
	MOVQ R9, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1

row512:
	TESTQ R8, R8
	JZ    done512
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   SI, AX
	MOVQ   R9, BX

loop64:
	CMPQ        BX, $64
	JB          loop16
	VMOVUPS     (AX), Z4
	VMOVUPS     64(AX), Z5
	VMOVUPS     128(AX), Z6
	VMOVUPS     192(AX), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, AX
	ADDQ        $256, DI
	SUBQ        $64, BX
	JMP         loop64

loop16:
	CMPQ        BX, $16
	JB          tail16
	VMOVUPS     (AX), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, AX
	ADDQ        $64, DI
	SUBQ        $16, BX
	JMP         loop16

tail16:
	TESTQ       BX, BX
	JZ          sum512
	VMOVUPS.Z   (AX), K1, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1
	LEAQ        (DI)(BX*4), DI

sum512:
	VADDPS        Z1, Z0, Z0
	VADDPS        Z3, Z2, Z2
	VADDPS        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, (DX)
	ADDQ          $4, DX
	DECQ          R8
	JMP           row512

done512:
	VZEROUPPER
	RET

// func dotBatchAVX2(q, base, out []float32)
TEXT ·dotBatchAVX2(SB), NOSPLIT, $0-72
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), R9
	MOVQ base_base+24(FP), DI
	MOVQ out_base+48(FP), DX
	MOVQ out_len+56(FP), R8

	// Y15: the first dim%8 lanes
	MOVQ    R9, CX
	ANDQ    $7, CX
	NEGQ    CX
	LEAQ    tailmask<>+32(SB), R10
	VMOVDQU (R10)(CX*4), Y15

row256:
	TESTQ  R8, R8
	JZ     done256
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, AX
	MOVQ   R9, BX

loop32:
	CMPQ        BX, $32
	JB          loop8
	VMOVUPS     (AX), Y4
	VMOVUPS     32(AX), Y5
	VMOVUPS     64(AX), Y6
	VMOVUPS     96(AX), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, AX
	ADDQ        $128, DI
	SUBQ        $32, BX
	JMP         loop32

loop8:
	CMPQ        BX, $8
	JB          tail8
	VMOVUPS     (AX), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, AX
	ADDQ        $32, DI
	SUBQ        $8, BX
	JMP         loop8

tail8:
	TESTQ       BX, BX
	JZ          sum256
	VMASKMOVPS  (AX), Y15, Y4
	VMASKMOVPS  (DI), Y15, Y5
	VFMADD231PS Y5, Y4, Y1
	LEAQ        (DI)(BX*4), DI

sum256:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, (DX)
	ADDQ         $4, DX
	DECQ         R8
	JMP          row256

done256:
	VZEROUPPER
	RET

// func sumSquaresAVX512(v []float32) float64
// Each float32 is widened to float64, where its square is exact, and accumulated there.
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-32
	MOVQ   v_base+0(FP), AX
	MOVQ   v_len+8(FP), BX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3

loop32:
	CMPQ        BX, $32
	JB          loop8
	VCVTPS2PD   (AX), Z4
	VCVTPS2PD   32(AX), Z5
	VCVTPS2PD   64(AX), Z6
	VCVTPS2PD   96(AX), Z7
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, AX
	SUBQ        $32, BX
	JMP         loop32

loop8:
	CMPQ        BX, $8
	JB          tail8
	VCVTPS2PD   (AX), Z4
	VFMADD231PD Z4, Z4, Z0
	ADDQ        $32, AX
	SUBQ        $8, BX
	JMP         loop8

tail8:
	TESTQ       BX, BX
	JZ          sum
	MOVQ        BX, CX
	MOVL        $1, DX
	SHLL        CX, DX
	DECL        DX
	KMOVW       DX, K1
	VCVTPS2PD.Z (AX), K1, Z4
	VFMADD231PD Z4, Z4, Z1

sum:
	VADDPD        Z1, Z0, Z0
	VADDPD        Z3, Z2, Z2
	VADDPD        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VUNPCKHPD     X0, X0, X1
	VADDSD        X1, X0, X0
	VZEROUPPER
	VMOVSD        X0, ret+24(FP)
	RET

// func sumSquaresAVX2(v []float32) float64
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-32
	MOVQ   v_base+0(FP), AX
	MOVQ   v_len+8(FP), BX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

loop16:
	CMPQ        BX, $16
	JB          loop4
	VCVTPS2PD   (AX), Y4
	VCVTPS2PD   16(AX), Y5
	VCVTPS2PD   32(AX), Y6
	VCVTPS2PD   48(AX), Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $64, AX
	SUBQ        $16, BX
	JMP         loop16

loop4:
	CMPQ        BX, $4
	JB          tail4
	VCVTPS2PD   (AX), Y4
	VFMADD231PD Y4, Y4, Y0
	ADDQ        $16, AX
	SUBQ        $4, BX
	JMP         loop4

tail4:
	TESTQ       BX, BX
	JZ          sum
	MOVQ        BX, CX
	NEGQ        CX
	LEAQ        tailmask<>+32(SB), R10
	VMOVDQU     (R10)(CX*4), X15
	VMASKMOVPS  (AX), X15, X4
	VCVTPS2PD   X4, Y4
	VFMADD231PD Y4, Y4, Y1

sum:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0
	VZEROUPPER
	VMOVSD       X0, ret+24(FP)
	RET

// func scaleAVX512(v []float32, s float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-28
	MOVQ         v_base+0(FP), AX
	MOVQ         v_len+8(FP), BX
	VBROADCASTSS s+24(FP), Z1

loop16:
	CMPQ    BX, $16
	JB      tail16
	VMULPS  (AX), Z1, Z0
	VMOVUPS Z0, (AX)
	ADDQ    $64, AX
	SUBQ    $16, BX
	JMP     loop16

tail16:
	TESTQ     BX, BX
	JZ        done
	MOVQ      BX, CX
	MOVL      $1, DX
	SHLL      CX, DX
	DECL      DX
	KMOVW     DX, K1
	VMOVUPS.Z (AX), K1, Z0
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (AX)

done:
	VZEROUPPER
	RET

// func scaleAVX2(v []float32, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-28
	MOVQ         v_base+0(FP), AX
	MOVQ         v_len+8(FP), BX
	VBROADCASTSS s+24(FP), Y1

loop8:
	CMPQ    BX, $8
	JB      tail8
	VMULPS  (AX), Y1, Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	SUBQ    $8, BX
	JMP     loop8

tail8:
	TESTQ      BX, BX
	JZ         done
	MOVQ       BX, CX
	NEGQ       CX
	LEAQ       tailmask<>+32(SB), R10
	VMOVDQU    (R10)(CX*4), Y15
	VMASKMOVPS (AX), Y15, Y0
	VMULPS     Y1, Y0, Y0
	VMASKMOVPS Y0, Y15, (AX)

done:
	VZEROUPPER
	RET

// Split: 16 (8) pixels per step. Three zero-extending loads turn 48 (24) bytes into three
// vectors of floats F0, F1, F2 in memory order (r0 g0 b0 r1 ...). Element 3k+c (pixel k,
// channel c) sits in lane (3k+c) mod 16 (8) of one of them, and for each channel the lanes
// holding it in F0, F1 and F2 are disjoint (lane mod 3 = c, c-1, c-2 for 16 lanes; c, c+1, c+2
// for 8). So two blends put each channel's 16 (8) elements in one vector, still at lane
// (3k+c) mod 16 (8), and one permute puts pixel k at lane k. Then value = x*mul + add: a
// multiply and an add, each rounded, as the generic loop does.

// func splitAVX512(r, g, b []float32, pix []uint8, mul, add *[3]float32)
TEXT ·splitAVX512(SB), NOSPLIT, $0-112
	MOVQ         r_base+0(FP), DI
	MOVQ         r_len+8(FP), CX
	MOVQ         g_base+24(FP), R8
	MOVQ         b_base+48(FP), R9
	MOVQ         pix_base+72(FP), SI
	MOVQ         mul+96(FP), AX
	MOVQ         add+104(FP), BX
	VBROADCASTSS (AX), Z9
	VBROADCASTSS 4(AX), Z10
	VBROADCASTSS 8(AX), Z11
	VBROADCASTSS (BX), Z12
	VBROADCASTSS 4(BX), Z13
	VBROADCASTSS 8(BX), Z14
	VMOVDQU32    perm16<>+0(SB), Z6
	VMOVDQU32    perm16<>+64(SB), Z7
	VMOVDQU32    perm16<>+128(SB), Z8
	MOVL         $0x9249, AX
	KMOVW        AX, K1                   // lanes ≡ 0 mod 3
	MOVL         $0x2492, AX
	KMOVW        AX, K2                   // lanes ≡ 1 mod 3
	MOVL         $0x4924, AX
	KMOVW        AX, K3                   // lanes ≡ 2 mod 3
	SHRQ         $4, CX

loop:
	TESTQ     CX, CX
	JZ        done
	VPMOVZXBD (SI), Z0
	VPMOVZXBD 16(SI), Z1
	VPMOVZXBD 32(SI), Z2
	VCVTDQ2PS Z0, Z0
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VBLENDMPS Z1, Z0, K3, Z3 // R: F0, F1 at lanes ≡ 2, F2 at lanes ≡ 1
	VBLENDMPS Z2, Z3, K2, Z3
	VBLENDMPS Z1, Z0, K1, Z4 // G: F0, F1 at lanes ≡ 0, F2 at lanes ≡ 2
	VBLENDMPS Z2, Z4, K3, Z4
	VBLENDMPS Z1, Z0, K2, Z5 // B: F0, F1 at lanes ≡ 1, F2 at lanes ≡ 0
	VBLENDMPS Z2, Z5, K1, Z5
	VPERMPS   Z3, Z6, Z3
	VPERMPS   Z4, Z7, Z4
	VPERMPS   Z5, Z8, Z5
	VMULPS    Z9, Z3, Z3
	VMULPS    Z10, Z4, Z4
	VMULPS    Z11, Z5, Z5
	VADDPS    Z12, Z3, Z3
	VADDPS    Z13, Z4, Z4
	VADDPS    Z14, Z5, Z5
	VMOVUPS   Z3, (DI)
	VMOVUPS   Z4, (R8)
	VMOVUPS   Z5, (R9)
	ADDQ      $48, SI
	ADDQ      $64, DI
	ADDQ      $64, R8
	ADDQ      $64, R9
	DECQ      CX
	JMP       loop

done:
	VZEROUPPER
	RET

// func splitAVX2(r, g, b []float32, pix []uint8, mul, add *[3]float32)
TEXT ·splitAVX2(SB), NOSPLIT, $0-112
	MOVQ         r_base+0(FP), DI
	MOVQ         r_len+8(FP), CX
	MOVQ         g_base+24(FP), R8
	MOVQ         b_base+48(FP), R9
	MOVQ         pix_base+72(FP), SI
	MOVQ         mul+96(FP), AX
	MOVQ         add+104(FP), BX
	VBROADCASTSS (AX), Y9
	VBROADCASTSS 4(AX), Y10
	VBROADCASTSS 8(AX), Y11
	VBROADCASTSS (BX), Y12
	VBROADCASTSS 4(BX), Y13
	VBROADCASTSS 8(BX), Y14
	VMOVDQU      perm8<>+0(SB), Y6
	VMOVDQU      perm8<>+32(SB), Y7
	VMOVDQU      perm8<>+64(SB), Y8
	SHRQ         $3, CX

loop:
	TESTQ     CX, CX
	JZ        done
	VPMOVZXBD (SI), Y0
	VPMOVZXBD 8(SI), Y1
	VPMOVZXBD 16(SI), Y2
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VBLENDPS  $0x92, Y1, Y0, Y3 // R: F0, F1 at lanes ≡ 1 mod 3, F2 at lanes ≡ 2
	VBLENDPS  $0x24, Y2, Y3, Y3
	VBLENDPS  $0x24, Y1, Y0, Y4 // G: F0, F1 at lanes ≡ 2, F2 at lanes ≡ 0
	VBLENDPS  $0x49, Y2, Y4, Y4
	VBLENDPS  $0x49, Y1, Y0, Y5 // B: F0, F1 at lanes ≡ 0, F2 at lanes ≡ 1
	VBLENDPS  $0x92, Y2, Y5, Y5
	VPERMPS   Y3, Y6, Y3
	VPERMPS   Y4, Y7, Y4
	VPERMPS   Y5, Y8, Y5
	VMULPS    Y9, Y3, Y3
	VMULPS    Y10, Y4, Y4
	VMULPS    Y11, Y5, Y5
	VADDPS    Y12, Y3, Y3
	VADDPS    Y13, Y4, Y4
	VADDPS    Y14, Y5, Y5
	VMOVUPS   Y3, (DI)
	VMOVUPS   Y4, (R8)
	VMOVUPS   Y5, (R9)
	ADDQ      $24, SI
	ADDQ      $32, DI
	ADDQ      $32, R8
	ADDQ      $32, R9
	DECQ      CX
	JMP       loop

done:
	VZEROUPPER
	RET

// SumRows: zero-extend 16 (8) bytes of each row to 32-bit lanes, multiply by the row's weight
// (low 32 bits, as Go's uint32), add. Integer arithmetic: the same values at every level.

// func sumRowsAVX512(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool)
TEXT ·sumRowsAVX512(SB), NOSPLIT, $0-66
	MOVQ         acc_base+0(FP), DI
	MOVQ         acc_len+8(FP), CX
	MOVQ         r0+24(FP), R8
	MOVQ         r1+32(FP), R9
	MOVQ         r2+40(FP), R10
	MOVQ         r3+48(FP), R11
	MOVQ         w+56(FP), AX
	VPBROADCASTD (AX), Z8
	VPBROADCASTD 4(AX), Z9
	VPBROADCASTD 8(AX), Z10
	VPBROADCASTD 12(AX), Z11
	XORQ         SI, SI           // x
	MOVBLZX      four+64(FP), AX
	MOVBLZX      add+65(FP), BX
	TESTB        AL, AL
	JNZ          fourrows

two:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Z0
	VPMOVZXBD (R9)(SI*1), Z1
	VPMULLD   Z8, Z0, Z0
	VPMULLD   Z9, Z1, Z1
	VPADDD    Z1, Z0, Z0
	VMOVDQU32    Z0, (DI)(SI*4)
	ADDQ      $16, SI
	JMP       two

fourrows:
	TESTB BL, BL
	JNZ   fouradd

fourset:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Z0
	VPMOVZXBD (R9)(SI*1), Z1
	VPMOVZXBD (R10)(SI*1), Z2
	VPMOVZXBD (R11)(SI*1), Z3
	VPMULLD   Z8, Z0, Z0
	VPMULLD   Z9, Z1, Z1
	VPMULLD   Z10, Z2, Z2
	VPMULLD   Z11, Z3, Z3
	VPADDD    Z1, Z0, Z0
	VPADDD    Z3, Z2, Z2
	VPADDD    Z2, Z0, Z0
	VMOVDQU32    Z0, (DI)(SI*4)
	ADDQ      $16, SI
	JMP       fourset

fouradd:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Z0
	VPMOVZXBD (R9)(SI*1), Z1
	VPMOVZXBD (R10)(SI*1), Z2
	VPMOVZXBD (R11)(SI*1), Z3
	VPMULLD   Z8, Z0, Z0
	VPMULLD   Z9, Z1, Z1
	VPMULLD   Z10, Z2, Z2
	VPMULLD   Z11, Z3, Z3
	VPADDD    Z1, Z0, Z0
	VPADDD    Z3, Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPADDD    (DI)(SI*4), Z0, Z0
	VMOVDQU32    Z0, (DI)(SI*4)
	ADDQ      $16, SI
	JMP       fouradd

done:
	VZEROUPPER
	RET

// func sumRowsAVX2(acc []uint32, r0, r1, r2, r3 *uint8, w *[4]uint32, four, add bool)
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-66
	MOVQ         acc_base+0(FP), DI
	MOVQ         acc_len+8(FP), CX
	MOVQ         r0+24(FP), R8
	MOVQ         r1+32(FP), R9
	MOVQ         r2+40(FP), R10
	MOVQ         r3+48(FP), R11
	MOVQ         w+56(FP), AX
	VPBROADCASTD (AX), Y8
	VPBROADCASTD 4(AX), Y9
	VPBROADCASTD 8(AX), Y10
	VPBROADCASTD 12(AX), Y11
	XORQ         SI, SI           // x
	MOVBLZX      four+64(FP), AX
	MOVBLZX      add+65(FP), BX
	TESTB        AL, AL
	JNZ          fourrows

two:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Y0
	VPMOVZXBD (R9)(SI*1), Y1
	VPMULLD   Y8, Y0, Y0
	VPMULLD   Y9, Y1, Y1
	VPADDD    Y1, Y0, Y0
	VMOVDQU      Y0, (DI)(SI*4)
	ADDQ      $8, SI
	JMP       two

fourrows:
	TESTB BL, BL
	JNZ   fouradd

fourset:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Y0
	VPMOVZXBD (R9)(SI*1), Y1
	VPMOVZXBD (R10)(SI*1), Y2
	VPMOVZXBD (R11)(SI*1), Y3
	VPMULLD   Y8, Y0, Y0
	VPMULLD   Y9, Y1, Y1
	VPMULLD   Y10, Y2, Y2
	VPMULLD   Y11, Y3, Y3
	VPADDD    Y1, Y0, Y0
	VPADDD    Y3, Y2, Y2
	VPADDD    Y2, Y0, Y0
	VMOVDQU      Y0, (DI)(SI*4)
	ADDQ      $8, SI
	JMP       fourset

fouradd:
	CMPQ      SI, CX
	JAE       done
	VPMOVZXBD (R8)(SI*1), Y0
	VPMOVZXBD (R9)(SI*1), Y1
	VPMOVZXBD (R10)(SI*1), Y2
	VPMOVZXBD (R11)(SI*1), Y3
	VPMULLD   Y8, Y0, Y0
	VPMULLD   Y9, Y1, Y1
	VPMULLD   Y10, Y2, Y2
	VPMULLD   Y11, Y3, Y3
	VPADDD    Y1, Y0, Y0
	VPADDD    Y3, Y2, Y2
	VPADDD    Y2, Y0, Y0
	VPADDD    (DI)(SI*4), Y0, Y0
	VMOVDQU      Y0, (DI)(SI*4)
	ADDQ      $8, SI
	JMP       fouradd

done:
	VZEROUPPER
	RET

// func sumTapsAVX2(out []uint8, acc []uint32, start, n, off []int32, w []uint32, shift uint) int
// One output pixel at a time: each tap loads the 3 channels (and the next pixel's first, weighted
// but never stored) as 4 lanes, multiplies by the broadcast weight and adds; then round, shift,
// take each lane's low byte and store 3 bytes. Each output's taps are checked first; the kernel
// returns the index of the first that fails (see kernels_amd64.go), or len(start).
TEXT ·sumTapsAVX2(SB), NOSPLIT, $0-160
	MOVQ         shift+144(FP), CX
	VMOVQ        CX, X3              // shift count
	DECQ         CX
	MOVL         $1, BX
	SHLL         CX, BX
	VMOVD        BX, X4
	VPBROADCASTD X4, X4              // 2^(shift-1) in every lane
	VMOVDQU      lowbytes<>(SB), X5
	MOVQ         out_base+0(FP), DI
	MOVQ         acc_base+24(FP), SI
	MOVQ         start_base+48(FP), R8
	MOVQ         start_len+56(FP), CX
	MOVQ         n_base+72(FP), R9
	MOVQ         off_base+96(FP), R10
	MOVQ         w_base+120(FP), R11
	XORQ         DX, DX              // i

pixel:
	CMPQ    DX, CX
	JAE     done
	MOVLQSX (R8)(DX*4), AX     // start[i]
	MOVLQSX (R9)(DX*4), R12    // n[i]
	MOVLQSX (R10)(DX*4), BX    // off[i]
	MOVQ    AX, R13
	ORQ     R12, R13
	ORQ     BX, R13
	JS      done               // one is negative
	LEAQ    (AX)(R12*1), R13
	LEAQ    (R13)(R13*2), R13
	CMPQ    R13, acc_len+32(FP)
	JAE     done               // 3*(start+n) >= len(acc): the last load would leave acc
	LEAQ    (BX)(R12*1), R13
	CMPQ    R13, w_len+128(FP)
	JA      done               // off+n > len(w)
	LEAQ    (AX)(AX*2), AX
	LEAQ    (SI)(AX*4), AX     // &acc[3*start[i]]
	LEAQ    (R11)(BX*4), BX    // &w[off[i]]
	VPXOR   X0, X0, X0

tap:
	TESTQ        R12, R12
	JZ           store
	VPBROADCASTD (BX), X2
	VPMULLD      (AX), X2, X1
	VPADDD       X1, X0, X0
	ADDQ         $12, AX
	ADDQ         $4, BX
	DECQ         R12
	JMP          tap

store:
	VPADDD  X4, X0, X0
	VPSRLD  X3, X0, X0
	VPSHUFB X5, X0, X0
	VMOVD   X0, AX
	MOVW    AX, (DI)
	SHRL    $16, AX
	MOVB    AX, 2(DI)
	ADDQ    $3, DI
	INCQ    DX
	JMP     pixel

done:
	MOVQ DX, ret+152(FP)
	VZEROUPPER
	RET
