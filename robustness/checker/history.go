package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/anishathalye/porcupine"
)

// The kinds of inputs and outputs, as the "kind" field of the JSON form names them.
const (
	kindRead       = "read"
	kindWrite      = "write"
	kindCas        = "cas"
	kindWritten    = "written"
	kindBadVersion = "bad_version"
	kindUnknown    = "unknown"
)

// never is the return time of an operation whose outcome is unknown: later than every timestamp.
const never = math.MaxInt64

// register is the state of one register: a znode's data, read as a number, and its data version.
type register struct {
	Value   int64 `json:"value"`
	Version int32 `json:"version"`
}

// input is what a client asked of a register: a read, a write (setData with version -1) or a
// compare-and-set (setData with an expected version).
type input struct {
	Kind            string `json:"kind"`
	Value           int64  `json:"value"`
	ExpectedVersion int32  `json:"expected_version"`
}

// output is what the client saw: a read's answer, the version a write or compare-and-set left,
// a refused compare-and-set, or no answer it could trust.
type output struct {
	Kind    string `json:"kind"`
	Value   int64  `json:"value"`
	Version int32  `json:"version"`
}

// operation is one operation of one client. Return is nil when the outcome is unknown.
type operation struct {
	Client uint32 `json:"client"`
	Key    string `json:"key"`
	Input  input  `json:"input"`
	Output output `json:"output"`
	Call   int64  `json:"call"`
	Return *int64 `json:"return"`
}

// history is a recorded history: each register's state before the first operation, and the
// operations in the order they were invoked. Times are nanoseconds since the history began.
type history struct {
	Initial    map[string]register `json:"initial"`
	Operations []operation         `json:"operations"`
}

// readHistory reads and validates the JSON form of a history from a file.
func readHistory(path string) (*history, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseHistory(data)
}

// parseHistory decodes and validates the JSON form of a history; unknown fields are errors.
func parseHistory(data []byte) (*history, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	var h history
	if err := decoder.Decode(&h); err != nil {
		return nil, fmt.Errorf("decoding the history: %w", err)
	}
	for i, op := range h.Operations {
		if err := h.validate(op); err != nil {
			return nil, fmt.Errorf("operation %d (client %d, %s): %w", i, op.Client, op.Key, err)
		}
	}
	return &h, nil
}

// allowedOutputs are the outputs each kind of input can have.
var allowedOutputs = map[string][]string{
	kindRead:  {kindRead, kindUnknown},
	kindWrite: {kindWritten, kindUnknown},
	kindCas:   {kindWritten, kindBadVersion, kindUnknown},
}

// validate checks that an operation is one the model can judge: its register has an initial
// state, its output is one its input can have, and its times are in order.
func (h *history) validate(op operation) error {
	if _, ok := h.Initial[op.Key]; !ok {
		return fmt.Errorf("the register has no initial state")
	}
	outputs, ok := allowedOutputs[op.Input.Kind]
	if !ok {
		return fmt.Errorf("unknown input kind %q", op.Input.Kind)
	}
	if !slices.Contains(outputs, op.Output.Kind) {
		return fmt.Errorf("a %s cannot have output %q", op.Input.Kind, op.Output.Kind)
	}
	if op.Call < 0 || op.Call >= never {
		return fmt.Errorf("call time %d out of range", op.Call)
	}
	if op.Output.Kind == kindUnknown {
		return nil
	}
	if op.Return == nil {
		return fmt.Errorf("a known outcome needs a return time")
	}
	if *op.Return < op.Call || *op.Return >= never {
		return fmt.Errorf("return time %d out of range (call %d)", *op.Return, op.Call)
	}
	return nil
}

// porcupineOperations turns the history into Porcupine's operations. A read whose outcome is
// unknown is left out: a read does not change the register, so it constrains nothing. A write or
// compare-and-set whose outcome is unknown gets the return time never (see step for why), unless
// the evidence of the known outcomes settles it (see evidence) and settle is true.
//
// Porcupine draws each client on a row of its own (ClientId). An operation with an unknown outcome
// stays pending to the end while its client goes on, so it gets a row of its own, after the
// clients' rows; Metadata keeps the client's own id for the visualization.
func (h *history) porcupineOperations(settle bool) []porcupine.Operation {
	var clients []uint32
	for _, op := range h.Operations {
		clients = append(clients, op.Client)
	}
	slices.Sort(clients)
	clients = slices.Compact(clients)
	pendingRow := len(clients)

	evidence := newEvidence(h)
	var ops []porcupine.Operation
	for _, op := range h.Operations {
		row, _ := slices.BinarySearch(clients, op.Client)
		ret, keep := int64(never), true
		switch {
		case op.Output.Kind != kindUnknown:
			ret = *op.Return
		case op.Input.Kind == kindRead:
			keep = false
		case settle:
			ret, keep = evidence.pendingReturn(op)
		}
		if !keep {
			continue
		}
		if op.Output.Kind == kindUnknown {
			row = pendingRow
			pendingRow++
		}
		ops = append(ops, porcupine.Operation{
			ClientId: row,
			Input:    op,
			Call:     op.Call,
			Output:   op.Output,
			Return:   ret,
			Metadata: op.Client,
		})
	}
	return ops
}

// counts returns how many operations the history has, how many registers they touch, and how
// many of them have an unknown outcome.
func (h *history) counts() (operations, keys, unknown int) {
	touched := make(map[string]bool)
	for _, op := range h.Operations {
		touched[op.Key] = true
		if op.Output.Kind == kindUnknown {
			unknown++
		}
	}
	return len(h.Operations), len(touched), unknown
}
