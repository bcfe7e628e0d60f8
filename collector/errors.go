package collector

import "errors"

// Sentinel errors; every error returned by the decoder wraps one of them so
// that callers can classify with errors.Is.
var (
	// ErrShort means a header, set or record is shorter than its format requires.
	ErrShort = errors.New("truncated data")
	// ErrVersion means the message version is not 5, 9 or 10.
	ErrVersion = errors.New("unsupported version")
	// ErrLength means a length field contradicts the data around it.
	ErrLength = errors.New("inconsistent length")
	// ErrTemplate means a template or options template is malformed.
	ErrTemplate = errors.New("malformed template")
)
