package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func TestPendingReturn(t *testing.T) {
	cases := []struct {
		name    string
		ops     []operation // the first one of unknown outcome is the one asked about
		ret     int64
		leftOut bool
	}{
		{"compare-and-set whose version was passed before its call", []operation{
			done(1, 0, 10, write(1), written(1)),
			pending(2, 20, cas(2, 0)),
		}, 0, true},
		{"compare-and-set whose version another write produced", []operation{
			pending(2, 0, cas(2, 0)),
			done(1, 5, 10, write(1), written(1)),
		}, 0, true},
		{"compare-and-set whose version was read with another value", []operation{
			pending(2, 0, cas(2, 0)),
			pending(3, 0, write(7)),
			done(1, 5, 10, read(), saw(7, 1)),
		}, 0, true},
		{"compare-and-set read", []operation{
			pending(2, 0, cas(2, 0)),
			done(1, 5, 10, read(), saw(2, 1)),
			done(1, 15, 20, read(), saw(2, 1)),
		}, 10, false},
		{"compare-and-set that would produce a version above all seen", []operation{
			done(1, 0, 10, write(1), written(1)),
			pending(2, 5, cas(2, 1)),
		}, 0, true},
		{"write never read, every version seen produced by another", []operation{
			pending(2, 0, write(2)),
			done(1, 5, 10, write(1), written(1)),
			done(1, 15, 20, read(), saw(1, 1)),
		}, 0, true},
		{"write that may have produced a version seen", []operation{
			pending(2, 0, write(2)),
			done(1, 5, 10, write(1), written(2)),
		}, never, false},
		{"write a refused compare-and-set may need", []operation{
			pending(2, 0, write(2)),
			done(1, 5, 10, read(), saw(0, 0)),
			done(1, 15, 20, cas(3, 0), badVersion),
		}, never, false},
		{"write read once its value identifies it", []operation{
			pending(2, 0, write(2)),
			done(1, 15, 20, read(), saw(2, 1)),
			done(1, 5, 10, read(), saw(2, 1)),
		}, 10, false},
		{"write of a value another write writes too", []operation{
			pending(2, 0, write(2)),
			done(1, 5, 10, read(), saw(2, 1)),
			done(1, 15, 20, write(2), written(2)),
		}, never, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &history{Initial: map[string]register{"/r": {0, 0}}, Operations: c.ops}
			asked := slices.IndexFunc(c.ops, func(op operation) bool { return op.Output.Kind == kindUnknown })
			ret, keep := newEvidence(h).pendingReturn(c.ops[asked])
			if keep == c.leftOut || (keep && ret != c.ret) {
				t.Errorf("got return %d, kept %v; want return %d, left out %v", ret, keep, c.ret, c.leftOut)
			}
			want := "ok"
			if got, _ := check(h, time.Minute, ""); got.Result != want {
				t.Errorf("check: %+v, want %s", got, want)
			}
		})
	}
}

// randomHistory returns a history of one register made by simulating it, with many operations of
// unknown outcome, and with one answer changed at random half of the time.
func randomHistory(random *rand.Rand, count int) *history {
	state := register{}
	var ops []operation
	for i := range count {
		at := int64(1000 + 100*i)
		call, ret := at-1-random.Int64N(250), at+1+random.Int64N(250)
		client := uint32(i % 6)
		value := int64(i + 1)
		var in input
		switch random.IntN(3) {
		case 0:
			in = read()
		case 1:
			in = write(value)
		default:
			in = cas(value, state.Version-int32(random.IntN(2)))
		}
		applies := in.Kind == kindWrite || (in.Kind == kindCas && in.ExpectedVersion == state.Version)
		unknown := in.Kind != kindRead && random.IntN(3) == 0
		var out output
		switch {
		case in.Kind == kindRead:
			out = saw(state.Value, state.Version)
		case applies:
			out = written(state.Version + 1)
		default:
			out = badVersion
		}
		if applies && (!unknown || random.IntN(2) == 0) {
			state = register{Value: value, Version: state.Version + 1}
		}
		if unknown {
			ops = append(ops, pending(client, call, in))
		} else {
			ops = append(ops, done(client, call, ret, in, out))
		}
	}
	if random.IntN(2) == 0 {
		i := random.IntN(len(ops))
		if ops[i].Output.Kind != kindUnknown {
			ops[i].Output.Version += int32(random.IntN(3)) - 1
			ops[i].Output.Value += int64(random.IntN(2))
		}
	}
	return &history{Initial: map[string]register{"/r": {}}, Operations: ops}
}

// TestSettlingChangesNoVerdict checks random histories with and without settling operations of
// unknown outcome beforehand: the verdicts must be the same.
func TestSettlingChangesNoVerdict(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	verdicts := map[porcupine.CheckResult]int{}
	for range 400 {
		h := randomHistory(random, 24)
		model := newModel(h.Initial)
		plain := porcupine.CheckOperations(model, h.porcupineOperations(false))
		settled := porcupine.CheckOperations(model, h.porcupineOperations(true))
		if plain != settled {
			t.Fatalf("linearizable %v without settling, %v with, for %+v", plain, settled, h.Operations)
		}
		verdicts[map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[plain]]++
	}
	if verdicts[porcupine.Ok] < 50 || verdicts[porcupine.Illegal] < 50 {
		t.Errorf("too one-sided a sample: %v", verdicts)
	}
}
