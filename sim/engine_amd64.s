#include "textflag.h"

// Vector kernels of the network engine (AVX2 + FMA). Each lane computes
// exactly what the scalar kernels of engine_fma.go compute for one neuron:
// the same operations in the same order, each FMA rounded once.
//
// Go assembler operand order: VFMADD231PD a, b, c computes c = b·a + c;
// VMULPD a, b, c computes c = b·a; VSUBPD a, b, c computes c = b − a.

// func cubaAVX(v, se, si *float64, n int, k *cubaK)
// cubaK: ae 0, ai 32, am 64, ke 96, ki 128, vinf 160 (each ×4).
TEXT ·cubaAVX(SB), NOSPLIT, $0-40
	MOVQ v+0(FP), DI
	MOVQ se+8(FP), SI
	MOVQ si+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), AX
	VMOVUPD 0(AX), Y0   // ae
	VMOVUPD 32(AX), Y1  // ai
	VMOVUPD 64(AX), Y2  // am
	VMOVUPD 96(AX), Y3  // ke
	VMOVUPD 128(AX), Y4 // ki
	VMOVUPD 160(AX), Y5 // vinf
	SHRQ $2, CX
	JZ   cubadone

cubaloop:
	VMOVUPD (SI), Y8         // ie
	VMOVUPD (DX), Y9         // ii
	VMOVUPD (DI), Y10        // v
	VMULPD  Y0, Y8, Y11      // ie·ae
	VMULPD  Y1, Y9, Y12      // ii·ai
	VMOVUPD Y11, (SI)
	VMOVUPD Y12, (DX)
	VSUBPD  Y5, Y10, Y10     // d = v − vinf
	VMOVAPD Y5, Y13
	VFMADD231PD Y2, Y10, Y13 // t = fma(d, am, vinf)
	VFMADD231PD Y3, Y8, Y13  // t = fma(ke, ie, t)
	VFMADD231PD Y4, Y9, Y13  // v = fma(ki, ii, t)
	VMOVUPD Y13, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  cubaloop

cubadone:
	VZEROUPPER
	RET

// func deltaAVX(v, in *float64, n int, k *deltaK)
// deltaK: am 0, vinf 32.
TEXT ·deltaAVX(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), AX
	VMOVUPD 0(AX), Y2  // am
	VMOVUPD 32(AX), Y5 // vinf
	VXORPD  Y6, Y6, Y6 // zero
	SHRQ $2, CX
	JZ   deltadone

deltaloop:
	VMOVUPD (DI), Y10
	VMOVUPD (SI), Y8
	VSUBPD  Y5, Y10, Y10     // d = v − vinf
	VMOVAPD Y5, Y13
	VFMADD231PD Y2, Y10, Y13 // fma(d, am, vinf)
	VADDPD  Y8, Y13, Y13     // + input
	VMOVUPD Y13, (DI)
	VMOVUPD Y6, (SI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ  deltaloop

deltadone:
	VZEROUPPER
	RET

// func cobaAVX(v, se, si *float64, n int, k *cobaK) int
// cobaK: ae 0, ai 32, fe 64, fi 96, gl 128, glie 160, ee 192, ei 224,
// dtc 256, half 288, c0 320, c1 352, … c10 640.
TEXT ·cobaAVX(SB), NOSPLIT, $0-48
	MOVQ v+0(FP), DI
	MOVQ se+8(FP), SI
	MOVQ si+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), AX
	SHRQ $2, CX
	XORQ BX, BX // neurons done
	TESTQ CX, CX
	JZ   cobadone

cobaloop:
	VMOVUPD (SI), Y8            // ge
	VMOVUPD (DX), Y9            // gi
	VMULPD  64(AX), Y8, Y12     // be = ge·fe
	VMULPD  96(AX), Y9, Y13     // bi = gi·fi
	VMOVUPD 128(AX), Y14
	VADDPD  Y12, Y14, Y14       // gl + be
	VADDPD  Y13, Y14, Y14       // gt = (gl + be) + bi
	VMULPD  256(AX), Y14, Y15   // x = gt·dtc
	VCMPPD  $0x1E, 288(AX), Y15, Y7 // x > 0.5 (ordered)
	VMOVMSKPD Y7, R8
	TESTQ R8, R8
	JNZ  cobadone               // the scalar kernel takes this group
	VMULPD  0(AX), Y8, Y10      // ge·ae
	VMULPD  32(AX), Y9, Y11     // gi·ai
	VMOVUPD Y10, (SI)
	VMOVUPD Y11, (DX)

	// φ₁(x) by Estrin's scheme.
	VMULPD  Y15, Y15, Y0        // x2
	VMULPD  Y0, Y0, Y1          // x4
	VMOVUPD 320(AX), Y2
	VFMADD231PD 352(AX), Y15, Y2 // p01 = fma(c1, x, c0)
	VMOVUPD 384(AX), Y3
	VFMADD231PD 416(AX), Y15, Y3 // p23 = fma(c3, x, c2)
	VFMADD231PD Y3, Y0, Y2       // p03 = fma(p23, x2, p01)
	VMOVUPD 448(AX), Y3
	VFMADD231PD 480(AX), Y15, Y3 // p45 = fma(c5, x, c4)
	VMOVUPD 512(AX), Y4
	VFMADD231PD 544(AX), Y15, Y4 // p67 = fma(c7, x, c6)
	VFMADD231PD Y4, Y0, Y3       // p47 = fma(p67, x2, p45)
	VMOVUPD 576(AX), Y4
	VFMADD231PD 608(AX), Y15, Y4 // p89 = fma(c9, x, c8)
	VFMADD231PD 640(AX), Y0, Y4  // p810 = fma(c10, x2, p89)
	VFMADD231PD Y3, Y1, Y2       // q = fma(p47, x4, p03)
	VMULPD  Y1, Y1, Y1           // x8
	VFMADD231PD Y4, Y1, Y2       // φ₁ = fma(p810, x8, q)

	// V ← V + (dtc·φ₁)·(num − g_T·V)
	VMOVUPD 160(AX), Y3
	VFMADD231PD 192(AX), Y12, Y3 // fma(be, ee, glie)
	VFMADD231PD 224(AX), Y13, Y3 // num = fma(bi, ei, ·)
	VMOVUPD (DI), Y4             // v
	VFNMADD231PD Y14, Y4, Y3     // w = fma(−gt, v, num)
	VMULPD  256(AX), Y2, Y2      // s = dtc·φ₁
	VFMADD231PD Y3, Y2, Y4       // v = fma(s, w, v)
	VMOVUPD Y4, (DI)

	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  cobaloop

cobadone:
	MOVQ BX, ret+40(FP)
	VZEROUPPER
	RET

// func aboveAVX(v *float64, n int, vth float64) int
TEXT ·aboveAVX(SB), NOSPLIT, $0-32
	MOVQ v+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSD vth+16(FP), Y1
	XORQ BX, BX
	SHRQ $2, CX
	JZ   abovenone

aboveloop:
	VMOVUPD (DI), Y0
	VCMPPD $0x1D, Y1, Y0, Y2   // v ≥ vth (ordered)
	VMOVMSKPD Y2, R8
	TESTQ R8, R8
	JNZ  abovefound
	ADDQ $32, DI
	ADDQ $4, BX
	DECQ CX
	JNZ  aboveloop

abovenone:
	MOVQ BX, ret+24(FP)
	VZEROUPPER
	RET

abovefound:
	BSFQ R8, R8
	ADDQ R8, BX
	MOVQ BX, ret+24(FP)
	VZEROUPPER
	RET
