package trap

import "fmt"

// Replaced by the file interfaces (file_in.go, file_out.go).
func newFileInput(sp IfcSpec, _ env) (inputIFC, error) {
	return nil, fmt.Errorf("%w: %q interfaces are not built yet", ErrBadParams, sp.Kind)
}

func newFileOutput(sp IfcSpec, _ env) (outputIFC, error) {
	return nil, fmt.Errorf("%w: %q interfaces are not built yet", ErrBadParams, sp.Kind)
}
