package main

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// newModel returns the sequential specification of the registers, for Porcupine: each key is a
// register on its own, checked as a partition of its own.
//
// Porcupine's Init takes no argument, yet each register starts in a state of its own. So the
// state begins as nil, meaning "the initial state of this partition's register", and the first
// step looks that state up in initial by the operation's key.
func newModel(initial map[string]register) porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() interface{} { return nil },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			op := in.(operation)
			current, ok := state.(register)
			if !ok {
				current = initial[op.Key]
			}
			legal, next := step(current, op.Input, out.(output))
			return legal, next
		},
		Hash: func(state interface{}) uint64 {
			r, ok := state.(register)
			if !ok {
				return 0
			}
			return uint64(r.Value)*0x9e3779b97f4a7c15 ^ uint64(uint32(r.Version))
		},
		DescribeOperation: describeOperation,
		DescribeState: func(state interface{}) string {
			r, ok := state.(register)
			if !ok {
				return "initial"
			}
			return fmt.Sprintf("%d (version %d)", r.Value, r.Version)
		},
		DescribeOperationMetadata: func(client interface{}) string {
			return fmt.Sprintf("client %d", client)
		},
	}
}

// step is ZooKeeper's setData semantics on one register: whether in, answered with out, can take
// effect on the register in state s, and the register's state after it.
//
//   - A read must see the state as it is.
//   - A write (setData with version -1) always succeeds and increments the version.
//   - A compare-and-set succeeds, and increments the version, only if the version is the expected
//     one; otherwise it is refused (BadVersion) and changes nothing.
//
// An operation whose outcome is unknown may have taken effect at any moment after its call, even
// after its client went on to other operations, or never. Such an operation is given the return
// time never, later than every other, and here it is legal in every state: a write applies, a
// compare-and-set applies if the version is the expected one and is a no-op otherwise. This is
// exactly the usual completion of a history's pending operations (each either gets a response or
// is removed), so the check neither misses a violation nor reports a false one:
//
//   - If the operation took effect at some moment t after its call, t lies in [call, never], and
//     the model applies it at t just as the register did.
//   - If it never took effect, it can be linearized after every other operation: its interval ends
//     at never, so no operation must follow it, and it is legal in every state. Nothing is
//     linearized after it but other operations of unknown outcome, which are legal in every state
//     too, so an operation linearized at the end is the same as one that never happened.
//   - Conversely, wherever Porcupine linearizes it, it is a possible outcome: after its call, it
//     either took effect there (the model applied it) or, a compare-and-set whose version did not
//     match, was refused there, which is the same as never having taken effect.
//
// A read whose outcome is unknown never reaches the model: it changes nothing, so dropping it
// loses nothing (see porcupineOperations).
func step(s register, in input, out output) (bool, register) {
	switch {
	case in.Kind == kindRead:
		return out.Kind == kindRead && out.Value == s.Value && out.Version == s.Version, s
	case in.Kind == kindCas && s.Version != in.ExpectedVersion:
		return out.Kind == kindBadVersion || out.Kind == kindUnknown, s
	}
	// A write, or a compare-and-set whose version matches: it takes effect.
	next := register{Value: in.Value, Version: s.Version + 1}
	switch out.Kind {
	case kindWritten:
		return out.Version == next.Version, next
	case kindUnknown:
		return true, next
	}
	return false, s
}

// partitionByKey splits a history into one history a register, in the order of the keys.
func partitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := make(map[string][]porcupine.Operation)
	for _, op := range ops {
		key := op.Input.(operation).Key
		byKey[key] = append(byKey[key], op)
	}
	keys := make([]string, 0, len(byKey))
	for key := range byKey {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	partitions := make([][]porcupine.Operation, 0, len(keys))
	for _, key := range keys {
		partitions = append(partitions, byKey[key])
	}
	return partitions
}

// describeOperation describes an operation for the visualization, e.g. "/r0: cas(7, v2) → v3".
func describeOperation(in, out interface{}) string {
	op := in.(operation)
	var call string
	switch op.Input.Kind {
	case kindRead:
		call = "read()"
	case kindWrite:
		call = fmt.Sprintf("write(%d)", op.Input.Value)
	default:
		call = fmt.Sprintf("cas(%d, v%d)", op.Input.Value, op.Input.ExpectedVersion)
	}
	var answer string
	switch o := out.(output); o.Kind {
	case kindRead:
		answer = fmt.Sprintf("%d v%d", o.Value, o.Version)
	case kindWritten:
		answer = fmt.Sprintf("v%d", o.Version)
	case kindBadVersion:
		answer = "bad version"
	default:
		answer = "?"
	}
	return fmt.Sprintf("%s: %s → %s", op.Key, call, answer)
}
