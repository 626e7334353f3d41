package decode

import (
	"errors"
	"fmt"
	"math"
)

// glmLink is the link function of a Poisson generalised linear model.
type glmLink int

const (
	// linkLog is the canonical link, log μ = xᵀβ (log-linear model).
	linkLog glmLink = iota
	// linkIdentity is μ = xᵀβ (linear rate, as cosine tuning).
	linkIdentity
)

// glmMaxIter bounds the Newton / scoring iterations of fitPoissonGLM; the
// log-link fits converge quadratically in well under 30 iterations; the
// identity link may need the damped steps after 20 (see fitPoissonGLM).
const glmMaxIter = 200

// glmMaxEta caps the linear predictor of the log link so that exp never
// overflows (e^50 ≈ 5·10²¹ events per bin is beyond any neural data).
const glmMaxEta = 50

// glmMuFloor is the smallest mean the identity link's weights use, as a
// fraction of the mean count: the weight 1/μ of a sample predicted near or
// below zero would otherwise dominate and make the scoring oscillate.
const glmMuFloor = 0.01

// fitPoissonGLM fits the Poisson regression y_t ~ Poisson(μ_t) with
// g(μ_t) = x_tᵀβ by maximum likelihood (McCullagh & Nelder 1989, §2.5 and
// §6.2), X sample-major (T×p, X[t*p+j]); column 0 should be the intercept.
// ridge ≥ 0 adds the penalty ½·ridge·Σ_{j≥1} β_j² (the intercept is not
// penalised).
//
// Log link: Newton–Raphson on the concave log-likelihood
// ℓ(β) = Σ_t y_t x_tᵀβ − exp(x_tᵀβ), gradient Σ (y_t − μ_t) x_t and Hessian
// −Σ μ_t x_t x_tᵀ (identical to IRLS for the canonical link), with step
// halving whenever a step would lower ℓ. It starts at β = (log ȳ, 0, …).
//
// Identity link: iteratively reweighted least squares, β ← (Xᵀ V X)⁻¹ Xᵀ V y
// with V = diag(1/μ_t), μ_t floored at 0.01·ȳ (Fisher scoring; the working
// response of the identity link is y itself), from the ordinary least-squares
// start (which is the regression of Georgopoulos et al. 1986 for cosine
// tuning).
//
// After 20 scoring iterations the identity link averages each new β with the
// previous one, which stops the cycling the floor can cause.
//
// It stops when every |Δβ_j| ≤ 1e-9·(1 + |β_j|), and returns an error when it
// does not converge within 100 iterations, when the design is singular (a
// constant or collinear feature) or when y is all zero (a silent unit).
func fitPoissonGLM(X []float64, T, p int, y []float64, link glmLink, ridge float64) ([]float64, error) {
	if T <= p {
		return nil, fmt.Errorf("too few samples: %d for %d coefficients", T, p)
	}
	sum := 0.0
	for t := 0; t < T; t++ {
		if !(y[t] >= 0) || math.IsInf(y[t], 0) {
			return nil, fmt.Errorf("count %d is %g; counts must be finite and ≥ 0", t, y[t])
		}
		sum += y[t]
	}
	if sum == 0 {
		return nil, errors.New("no events in the calibration data (a silent unit; remove it)")
	}
	beta := make([]float64, p)
	h := make([]float64, p*p)
	g := make([]float64, p)
	step := make([]float64, p)
	trial := make([]float64, p)
	switch link {
	case linkLog:
		beta[0] = math.Log(sum / float64(T))
		ll := glmLogLik(X, T, p, y, beta, ridge)
		for it := 0; it < glmMaxIter; it++ {
			clear(h)
			clear(g)
			for t := 0; t < T; t++ {
				xt := X[t*p : t*p+p]
				mu := math.Exp(min(dot(xt, beta), glmMaxEta))
				r := y[t] - mu
				for j, v := range xt {
					g[j] += r * v
				}
				outerAddScaled(h, xt, mu)
			}
			for j := 1; j < p; j++ {
				g[j] -= ridge * beta[j]
				h[j*p+j] += ridge
			}
			copy(step, g)
			if j := cholesky(h, p, fitTol); j >= 0 {
				return nil, fmt.Errorf("feature %d is constant or collinear with the features before it (singular Fisher information)", j)
			}
			cholSolve(h, p, step)
			// Step halving: ℓ is concave, so a short enough step along
			// the Newton direction increases it.
			a := 1.0
			var nll float64
			for k := 0; ; k++ {
				for j := range trial {
					trial[j] = beta[j] + a*step[j]
				}
				nll = glmLogLik(X, T, p, y, trial, ridge)
				if nll >= ll || k == 40 {
					break
				}
				a /= 2
			}
			done := true
			for j := range beta {
				if math.Abs(trial[j]-beta[j]) > 1e-9*(1+math.Abs(beta[j])) {
					done = false
				}
			}
			copy(beta, trial)
			ll = nll
			if done {
				return checkBeta(beta)
			}
		}
	case linkIdentity:
		floor := glmMuFloor * sum / float64(T)
		mu := make([]float64, T)
		for t := range mu {
			mu[t] = 1 // OLS start
		}
		for it := 0; it <= glmMaxIter; it++ {
			clear(h)
			clear(g)
			for t := 0; t < T; t++ {
				xt := X[t*p : t*p+p]
				w := 1 / max(mu[t], floor)
				for j, v := range xt {
					g[j] += w * y[t] * v
				}
				outerAddScaled(h, xt, w)
			}
			for j := 1; j < p; j++ {
				h[j*p+j] += ridge
			}
			if j := cholesky(h, p, fitTol); j >= 0 {
				return nil, fmt.Errorf("feature %d is constant or collinear with the features before it (singular Fisher information)", j)
			}
			copy(step, g)
			cholSolve(h, p, step)
			done := it > 0
			for j := range beta {
				if math.Abs(step[j]-beta[j]) > 1e-9*(1+math.Abs(beta[j])) {
					done = false
				}
			}
			if it >= 20 {
				// The floor makes the map non-smooth where a sample's
				// prediction crosses it, and plain scoring can cycle
				// there; averaged steps converge.
				for j := range step {
					step[j] = 0.5 * (step[j] + beta[j])
				}
			}
			copy(beta, step)
			if done {
				return checkBeta(beta)
			}
			for t := 0; t < T; t++ {
				mu[t] = dot(X[t*p:t*p+p], beta)
			}
		}
	default:
		panic("decode: unknown GLM link")
	}
	return nil, fmt.Errorf("the Poisson regression did not converge in %d iterations", glmMaxIter)
}

func checkBeta(beta []float64) ([]float64, error) {
	if j, ok := allFinite(beta); !ok {
		return nil, fmt.Errorf("coefficient %d diverged to %g (a unit whose events are perfectly separated by the features?)", j, beta[j])
	}
	return beta, nil
}

// glmLogLik is the penalised log-link Poisson log-likelihood Σ y η − e^η −
// ½·ridge·Σ_{j≥1} β_j² (without the constant −Σ log y!).
func glmLogLik(X []float64, T, p int, y, beta []float64, ridge float64) float64 {
	ll := 0.0
	for t := 0; t < T; t++ {
		eta := min(dot(X[t*p:t*p+p], beta), glmMaxEta)
		ll += y[t]*eta - math.Exp(eta)
	}
	for j := 1; j < p; j++ {
		ll -= 0.5 * ridge * beta[j] * beta[j]
	}
	return ll
}

// outerAddScaled adds s·x xᵀ to the lower triangle and diagonal of dst
// (len(x)² row-major); cholesky reads only that triangle.
func outerAddScaled(dst, x []float64, s float64) {
	p := len(x)
	for i, xi := range x {
		v := s * xi
		if v == 0 {
			continue
		}
		row := dst[i*p : i*p+i+1]
		for j := range row {
			row[j] += v * x[j]
		}
	}
}
