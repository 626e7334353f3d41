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

// func cobaAVX(v, se, si *float64, n int, k *cobaK) (done, stop int)
// cobaK: ae 0, ai 32, xl 64, xe 96, xi 128, yl 160, ee 192, yi 224,
// vth 256, xmax 288, c0 320, c1 352, … c7 544.
//
// se and si are only read: the caller keeps the decay of the conductances
// in the coefficients xe, xi, yi (condScale) or decays them itself.
// The eight coefficients of φ₁ stay in Y8–Y15; the others are memory
// operands. Loads, not arithmetic, bound this loop when every coefficient
// is a memory operand (Zen 3 loads two 256-bit operands per cycle).
TEXT ·cobaAVX(SB), NOSPLIT, $0-56
	MOVQ v+0(FP), DI
	MOVQ se+8(FP), SI
	MOVQ si+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), AX
	SHRQ $2, CX
	XORQ BX, BX // neurons done
	TESTQ CX, CX
	JZ   cobadone
	VMOVUPD 320(AX), Y8  // c0
	VMOVUPD 352(AX), Y9  // c1
	VMOVUPD 384(AX), Y10 // c2
	VMOVUPD 416(AX), Y11 // c3
	VMOVUPD 448(AX), Y12 // c4
	VMOVUPD 480(AX), Y13 // c5
	VMOVUPD 512(AX), Y14 // c6
	VMOVUPD 544(AX), Y15 // c7

cobaloop:
	VMOVUPD (SI), Y0             // ge
	VMOVUPD (DX), Y1             // gi
	VMOVUPD (DI), Y2             // v
	VMOVUPD 64(AX), Y3
	VFMADD231PD 96(AX), Y0, Y3   // fma(ge, xe, xl)
	VFMADD231PD 128(AX), Y1, Y3  // x = fma(gi, xi, ·)
	VCMPPD  $0x1E, 288(AX), Y3, Y4 // x > xmax (ordered)
	VMOVMSKPD Y4, R8
	TESTQ R8, R8
	JNZ  cobaslow                // the scalar kernel takes this group
	VMOVUPD 160(AX), Y6
	VFMADD231PD 224(AX), Y1, Y6  // y = fma(gi, yi, yl)

	// φ₁(x) by Estrin's scheme.
	VMULPD  Y3, Y3, Y7           // x2
	VMOVAPD Y8, Y4
	VFMADD231PD Y9, Y3, Y4       // p01 = fma(c1, x, c0)
	VMOVAPD Y10, Y5
	VFMADD231PD Y11, Y3, Y5      // p23 = fma(c3, x, c2)
	VMOVAPD Y12, Y0
	VFMADD231PD Y13, Y3, Y0      // p45 = fma(c5, x, c4)
	VMOVAPD Y14, Y1
	VFMADD231PD Y15, Y3, Y1      // p67 = fma(c7, x, c6)
	VFMADD231PD Y5, Y7, Y4       // p03 = fma(p23, x2, p01)
	VFMADD231PD Y1, Y7, Y0       // p47 = fma(p67, x2, p45)
	VMULPD  Y7, Y7, Y7           // x4
	VFMADD231PD Y0, Y7, Y4       // φ₁ = fma(p47, x4, p03)

	// V ← V + φ₁·(y − x·(V − E_E)), then the threshold.
	VSUBPD  192(AX), Y2, Y5      // u = v − ee
	VFNMADD231PD Y3, Y5, Y6      // w = fma(−x, u, y)
	VFMADD231PD Y6, Y4, Y2       // v = fma(φ₁, w, v)
	VMOVUPD Y2, (DI)
	VCMPPD  $0x1D, 256(AX), Y2, Y5 // v ≥ vth (ordered)
	VMOVMSKPD Y5, R8


	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $4, BX
	TESTQ R8, R8
	JNZ  cobacross               // Go applies the threshold to this group
	DECQ CX
	JNZ  cobaloop

cobadone:
	MOVQ BX, done+40(FP)
	MOVQ $0, stop+48(FP)
	VZEROUPPER
	RET

cobaslow:
	MOVQ BX, done+40(FP)
	MOVQ $1, stop+48(FP)
	VZEROUPPER
	RET

cobacross:
	MOVQ BX, done+40(FP)
	MOVQ $2, stop+48(FP)
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
