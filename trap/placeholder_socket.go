package trap

import "fmt"

// Replaced by the socket interfaces (socket_in.go, socket_out.go).
func newSocketInput(sp IfcSpec, _ env) (inputIFC, error) {
	return nil, fmt.Errorf("%w: %q interfaces are not built yet", ErrBadParams, sp.Kind)
}

func newSocketOutput(sp IfcSpec, _ env) (outputIFC, error) {
	return nil, fmt.Errorf("%w: %q interfaces are not built yet", ErrBadParams, sp.Kind)
}
