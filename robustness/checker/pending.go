package main

// Operations whose outcome is unknown are what makes a check slow: each stays pending from its
// call to the end, so a search that has to exhaust every partial linearization (as for a history
// that is not linearizable) tries every subset of them at every point. What the known outcomes
// reveal settles many of them beforehand, without changing whether the history is linearizable.
//
// The facts used hold in every linearization, by the model: a version only grows, by one with
// each write or compare-and-set that takes effect (its producer); so each version of a register
// has at most one producer, and the register holds the producer's value for as long as it has
// that version.
//
//   - A compare-and-set that cannot take effect is left out: a no-op can be put at the end of any
//     linearization, which is the same as leaving it out. It cannot take effect if an operation
//     that returned before it was called saw a version above the expected one (it is linearized
//     after that operation), or if another operation produced the version it would produce: an
//     acknowledged write or compare-and-set of that version, or a read of that version and another
//     value.
//   - A write or compare-and-set that, had it taken effect, would have produced a version above
//     every version seen is left out, unless a refused compare-and-set could need it. Such an
//     operation would come after every operation that saw a version, so only operations of unknown
//     outcome and refused compare-and-sets could follow it, and moving it to the end changes none
//     of them but a refused compare-and-set that expected a version at least the highest seen. A
//     write would produce a version above every version seen if another operation produced, as
//     above, each version seen from the highest one seen before it was called (it would produce
//     a version above that one) up.
//   - A write or compare-and-set that a read saw must have taken effect before that read returned,
//     provided its value identifies it: no other operation writes the same value to the register
//     and the register did not start with it. So its return time can be the earliest return of
//     such a read instead of never (unless that read returned before the operation was called, a
//     violation the check finds anyway).
//
// Each rule rests on the known outcomes alone, so it holds for every linearization of the history,
// including one already rearranged by another rule: they apply together. The other way round,
// whatever is left out can be appended to a linearization of what is left, for every operation of
// unknown outcome is legal in every state.

// keyValue is a value of a register.
type keyValue struct {
	key   string
	value int64
}

// versions is what the known outcomes reveal about one register's versions.
type versions struct {
	// initial is the register's version when the history began: no operation produced it or any
	// version below it.
	initial int32
	// highest is the highest version seen (the initial one if none was).
	highest int32
	// written holds the versions that acknowledged writes and compare-and-sets produced.
	written map[int32]bool
	// read holds the values read at each version.
	read map[int32][]int64
	// refused are the compare-and-sets refused with BadVersion.
	refused []operation
}

// evidence is what a history's known outcomes reveal about its operations of unknown outcome.
type evidence struct {
	h         *history
	registers map[string]*versions
	// writers counts the writes and compare-and-sets of each value to each register.
	writers map[keyValue]int
	// firstRead is the earliest return of a read that saw each value of each register.
	firstRead map[keyValue]int64
}

// newEvidence indexes a history's known outcomes.
func newEvidence(h *history) *evidence {
	e := &evidence{
		h:         h,
		registers: make(map[string]*versions),
		writers:   make(map[keyValue]int),
		firstRead: make(map[keyValue]int64),
	}
	for key, r := range h.Initial {
		e.registers[key] = &versions{
			initial: r.Version, highest: r.Version, written: make(map[int32]bool), read: make(map[int32][]int64),
		}
	}
	for _, op := range h.Operations {
		r := e.registers[op.Key]
		if op.Input.Kind != kindRead {
			e.writers[keyValue{op.Key, op.Input.Value}]++
		}
		switch op.Output.Kind {
		case kindRead:
			kv := keyValue{op.Key, op.Output.Value}
			if first, ok := e.firstRead[kv]; !ok || *op.Return < first {
				e.firstRead[kv] = *op.Return
			}
			r.read[op.Output.Version] = append(r.read[op.Output.Version], op.Output.Value)
			r.highest = max(r.highest, op.Output.Version)
		case kindWritten:
			r.written[op.Output.Version] = true
			r.highest = max(r.highest, op.Output.Version)
		case kindBadVersion:
			r.refused = append(r.refused, op)
		}
	}
	return e
}

// pendingReturn returns the return time to give a write or compare-and-set of unknown outcome, or
// false if it can be left out.
func (e *evidence) pendingReturn(op operation) (int64, bool) {
	if e.leaveOut(op) {
		return 0, false
	}
	kv := keyValue{op.Key, op.Input.Value}
	first, read := e.firstRead[kv]
	if read && first >= op.Call && e.writers[kv] == 1 && e.h.Initial[op.Key].Value != op.Input.Value {
		return first, true
	}
	return never, true
}

// leaveOut tells whether a write or compare-and-set of unknown outcome can be left out.
func (e *evidence) leaveOut(op operation) bool {
	r := e.registers[op.Key]
	seenBefore := e.versionSeenBefore(op.Key, op.Call)
	if op.Input.Kind == kindCas {
		produced := op.Input.ExpectedVersion + 1
		if seenBefore >= produced {
			return true
		}
		if produced <= r.highest {
			return r.producedByAnother(produced, op.Input.Value)
		}
	} else {
		for v := seenBefore + 1; v <= r.highest; v++ {
			if !r.producedByAnother(v, op.Input.Value) {
				return false
			}
		}
	}
	for _, refused := range r.refused {
		if refused.Input.ExpectedVersion >= r.highest && *refused.Return > op.Call {
			return false
		}
	}
	return true
}

// producedByAnother tells whether the known outcomes show that version v was produced, if at all,
// by an operation other than one writing value.
func (r *versions) producedByAnother(v int32, value int64) bool {
	if v <= r.initial || r.written[v] {
		return true
	}
	for _, seen := range r.read[v] {
		if seen != value {
			return true
		}
	}
	return false
}

// versionSeenBefore returns the highest version of a register that an operation returning before t
// saw, or the register's initial version.
func (e *evidence) versionSeenBefore(key string, t int64) int32 {
	seen := e.h.Initial[key].Version
	for _, op := range e.h.Operations {
		known := op.Output.Kind == kindRead || op.Output.Kind == kindWritten
		if known && op.Key == key && *op.Return < t {
			seen = max(seen, op.Output.Version)
		}
	}
	return seen
}
