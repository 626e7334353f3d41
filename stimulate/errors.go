package stimulate

import "errors"

// ErrClosed is returned by Stimulate on a Stimulator that has been closed.
var ErrClosed = errors.New("stimulate: stimulator closed")

// ErrRefused is wrapped by the error Limit.Stimulate returns when it refused
// at least one pulse of a pattern. Test with errors.Is; errors.As with a
// *RefusalError gives the rule.
var ErrRefused = errors.New("stimulate: pulse refused by safety limit")

// errNilPattern is returned for a nil *Pattern.
var errNilPattern = errors.New("stimulate: nil pattern")

// RefusalError reports the rule that refused the first refused pulse of a
// pattern. The values are shared and immutable, so returning one costs no
// allocation.
type RefusalError struct {
	Rule Rule
}

func (e *RefusalError) Error() string {
	return "stimulate: pulse refused by safety limit: " + e.Rule.String()
}

// Unwrap returns ErrRefused.
func (e *RefusalError) Unwrap() error { return ErrRefused }

// refusals holds one shared RefusalError per rule.
var refusals = func() (r [NumRules]*RefusalError) {
	for i := range r {
		r[i] = &RefusalError{Rule: Rule(i)}
	}
	return r
}()
