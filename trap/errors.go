package trap

import "errors"

// Errors mirror libtrap's return codes (trap.h, trap-wire.md §11). Test
// them with errors.Is; Code maps an error back to the C number.
var (
	ErrTimeout           = errors.New("trap: timeout")                      // TRAP_E_TIMEOUT 1
	ErrBadParams         = errors.New("trap: bad parameters")               // TRAP_E_BADPARAMS 11
	ErrIO                = errors.New("trap: I/O error")                    // TRAP_E_IO_ERROR 14
	ErrTerminated        = errors.New("trap: terminated")                   // TRAP_E_TERMINATED 15
	ErrHelp              = errors.New("trap: help printed")                 // TRAP_E_HELP 20
	ErrFormatMismatch    = errors.New("trap: data format mismatch")         // TRAP_E_FORMAT_MISMATCH 24
	ErrNegotiationFailed = errors.New("trap: interface negotiation failed") // TRAP_E_NEGOTIATION_FAILED 25
	ErrFormatNotSet      = errors.New("trap: output data format not set")
)

// Code returns libtrap's numeric return code for err (0 for nil).
func Code(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrTimeout):
		return 1
	case errors.Is(err, ErrBadParams):
		return 11
	case errors.Is(err, ErrIO):
		return 14
	case errors.Is(err, ErrTerminated):
		return 15
	case errors.Is(err, ErrHelp):
		return 20
	case errors.Is(err, ErrFormatMismatch):
		return 24
	case errors.Is(err, ErrNegotiationFailed):
		return 25
	}
	return 14
}
