package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// done is an operation of client on register "/r" answered with out at ret.
func done(client uint32, call, ret int64, in input, out output) operation {
	return operation{Client: client, Key: "/r", Input: in, Output: out, Call: call, Return: &ret}
}

// pending is an operation of client on register "/r" whose outcome is unknown.
func pending(client uint32, call int64, in input) operation {
	return operation{Client: client, Key: "/r", Input: in, Output: output{Kind: kindUnknown}, Call: call}
}

func read() input             { return input{Kind: kindRead} }
func write(value int64) input { return input{Kind: kindWrite, Value: value} }
func cas(value int64, expected int32) input {
	return input{Kind: kindCas, Value: value, ExpectedVersion: expected}
}
func saw(value int64, version int32) output {
	return output{Kind: kindRead, Value: value, Version: version}
}
func written(version int32) output { return output{Kind: kindWritten, Version: version} }

var badVersion = output{Kind: kindBadVersion}

// onKey moves an operation to another register.
func onKey(key string, op operation) operation {
	op.Key = key
	return op
}

func TestHistories(t *testing.T) {
	cases := []struct {
		name    string
		initial map[string]register
		ops     []operation
		want    string
	}{
		{"sequential", nil, []operation{
			done(0, 0, 10, write(1), written(1)),
			done(0, 20, 30, read(), saw(1, 1)),
			done(1, 40, 50, cas(2, 1), written(2)),
			done(0, 60, 70, read(), saw(2, 2)),
		}, "ok"},
		{"concurrent writes take effect in the order reads saw", nil, []operation{
			done(1, 0, 100, write(1), written(2)),
			done(2, 10, 90, write(2), written(1)),
			done(3, 20, 30, read(), saw(2, 1)),
			done(3, 110, 120, read(), saw(1, 2)),
		}, "ok"},
		{"unknown write read later, its client going on", nil, []operation{
			pending(1, 0, write(5)),
			done(2, 10, 20, read(), saw(0, 0)),
			done(2, 30, 40, read(), saw(5, 1)),
			done(1, 50, 60, write(6), written(2)),
			done(2, 70, 80, read(), saw(6, 2)),
		}, "ok"},
		{"unknown write never read", nil, []operation{
			pending(1, 0, write(5)),
			done(2, 10, 20, read(), saw(0, 0)),
			done(2, 50, 60, write(7), written(1)),
			done(2, 70, 80, read(), saw(7, 1)),
		}, "ok"},
		{"unknown compare-and-set that took effect", nil, []operation{
			pending(1, 0, cas(4, 0)),
			done(2, 10, 20, read(), saw(4, 1)),
		}, "ok"},
		{"compare-and-set refused, and an unknown one that cannot apply", nil, []operation{
			done(1, 0, 10, write(1), written(1)),
			done(2, 20, 30, cas(9, 0), badVersion),
			pending(2, 35, cas(8, 0)),
			done(1, 40, 50, read(), saw(1, 1)),
		}, "ok"},
		{"unknown read dropped", nil, []operation{
			pending(1, 0, read()),
			done(2, 10, 20, read(), saw(0, 0)),
		}, "ok"},
		{"registers start in their own states", map[string]register{"/a": {10, 3}, "/b": {0, 0}}, []operation{
			onKey("/a", done(1, 0, 10, read(), saw(10, 3))),
			onKey("/b", done(2, 0, 10, read(), saw(0, 0))),
			onKey("/a", done(1, 20, 30, cas(11, 3), written(4))),
			onKey("/b", done(2, 20, 30, cas(1, 3), badVersion)),
		}, "ok"},

		{"stale read after an acknowledged write", nil, []operation{
			done(1, 0, 10, write(1), written(1)),
			done(2, 20, 30, read(), saw(0, 0)),
		}, "illegal"},
		{"read of a value never written", nil, []operation{
			done(1, 0, 10, write(1), written(1)),
			done(2, 5, 30, read(), saw(42, 1)),
		}, "illegal"},
		{"two compare-and-sets succeed on one version", nil, []operation{
			done(1, 0, 10, cas(1, 0), written(1)),
			done(2, 5, 15, cas(2, 0), written(1)),
		}, "illegal"},
		{"lost acknowledged write", nil, []operation{
			done(1, 0, 10, write(1), written(1)),
			done(1, 20, 30, write(2), written(2)),
			done(2, 40, 50, read(), saw(1, 1)),
		}, "illegal"},
		{"compare-and-set refused though the version matched", nil, []operation{
			done(1, 0, 10, cas(1, 0), badVersion),
		}, "illegal"},
		{"unknown write read before it was invoked", nil, []operation{
			done(2, 0, 10, read(), saw(5, 1)),
			pending(1, 20, write(5)),
		}, "illegal"},
		{"unknown write cannot skip a version", nil, []operation{
			pending(1, 0, write(5)),
			done(2, 10, 20, read(), saw(5, 2)),
		}, "illegal"},
		{"a register's initial state is its own", map[string]register{"/a": {10, 3}, "/b": {0, 0}}, []operation{
			onKey("/b", done(2, 0, 10, read(), saw(10, 3))),
		}, "illegal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &history{Initial: c.initial, Operations: c.ops}
			if h.Initial == nil {
				h.Initial = map[string]register{"/r": {0, 0}}
			}
			for _, op := range h.Operations {
				if err := h.validate(op); err != nil {
					t.Fatalf("invalid test history: %v", err)
				}
			}
			v, err := check(h, time.Minute, "")
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != c.want || v.Linearizable != (c.want == "ok") {
				t.Errorf("got %+v, want result %s", v, c.want)
			}
		})
	}
}

// recorded is a history in the JSON form the recording side writes.
const recorded = `{
  "initial": {"/r0": {"value": 0, "version": 0}},
  "operations": [
    {"client": 1, "key": "/r0", "input": {"kind": "write", "value": 7}, "output": {"kind": "written", "version": 1}, "call": 100, "return": 200},
    {"client": 2, "key": "/r0", "input": {"kind": "cas", "value": 9, "expected_version": 0}, "output": {"kind": "unknown"}, "call": 150, "return": null},
    {"client": 1, "key": "/r0", "input": {"kind": "read"}, "output": {"kind": "read", "value": 7, "version": 1}, "call": 300, "return": 400}
  ]
}`

func TestRunWritesVerdictAndVisualization(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, history string
		status        int
	}{
		{"linearizable", recorded, exitLinearizable},
		{"violation", strings.Replace(recorded, `"value": 7, "version": 1}`, `"value": 9, "version": 1}`, 1), exitViolation},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".json")
			if err := os.WriteFile(path, []byte(c.history), 0o644); err != nil {
				t.Fatal(err)
			}
			html := filepath.Join(dir, c.name+".html")
			var stdout, stderr bytes.Buffer
			status := run([]string{"-visualize", html, path}, &stdout, &stderr)
			if status != c.status {
				t.Fatalf("exit status %d, want %d; stderr: %s", status, c.status, stderr.String())
			}
			var v verdict
			if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
				t.Fatalf("verdict %q: %v", stdout.String(), err)
			}
			want := verdict{Linearizable: c.status == 0, Result: map[bool]string{true: "ok", false: "illegal"}[c.status == 0],
				Operations: 3, Keys: 1, Unknown: 1, Visualization: html}
			if v != want {
				t.Errorf("verdict %+v, want %+v", v, want)
			}
			if info, err := os.Stat(html); err != nil || info.Size() == 0 {
				t.Errorf("no visualization: %v", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	for name, history := range map[string]string{
		"not JSON":                 `{"initial":`,
		"unknown field":            strings.Replace(recorded, `"call": 300`, `"call": 300, "at": 1`, 1),
		"register without initial": strings.Replace(recorded, `"/r0": {"value"`, `"/r1": {"value"`, 1),
		"read answered written":    strings.Replace(recorded, `"kind": "read", "value": 7`, `"kind": "written", "value": 7`, 1),
		"known outcome, no return": strings.Replace(recorded, `"return": 200`, `"return": null`, 1),
		"return before call":       strings.Replace(recorded, `"return": 400`, `"return": 299`, 1),
		"unknown input":            strings.Replace(recorded, `"kind": "write"`, `"kind": "delete"`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.json")
			if err := os.WriteFile(path, []byte(history), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if status := run([]string{path}, &stdout, &stderr); status != exitOther || stdout.Len() != 0 {
				t.Errorf("exit status %d, stdout %q; want %d and nothing", status, stdout.String(), exitOther)
			}
		})
	}
}
