// Command checker checks a recorded history of register operations on a ZooKeeper ensemble for
// linearizability, with Porcupine.
//
// Usage:
//
//	checker [-timeout 120s] [-visualize out.html] history.json
//
// The history is the JSON form of zk-robustness's History. Each key is a register of its own,
// starting in the state the history's "initial" gives it. The verdict is one line of JSON on
// standard output:
//
//	{"linearizable":true,"result":"ok","operations":120,"keys":3,"unknown":4}
//
// result is "ok", "illegal" (a violation was found) or "unknown" (the check timed out); unknown
// counts the operations whose outcome the client could not learn. With -visualize, Porcupine's
// HTML visualization of the check is written to the file given, and its path is in the verdict
// as "visualization".
//
// The exit status is 0 if the history is linearizable, 1 if it is not, and 2 if the input was
// bad or the check timed out.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

// The exit statuses.
const (
	exitLinearizable = 0
	exitViolation    = 1
	exitOther        = 2
)

// verdict is the line the checker prints.
type verdict struct {
	Linearizable  bool   `json:"linearizable"`
	Result        string `json:"result"`
	Operations    int    `json:"operations"`
	Keys          int    `json:"keys"`
	Unknown       int    `json:"unknown"`
	Visualization string `json:"visualization,omitempty"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments and outputs given; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("checker", flag.ContinueOnError)
	flags.SetOutput(stderr)
	visualize := flags.String("visualize", "", "write Porcupine's HTML visualization of the check to this `file`")
	timeout := flags.Duration("timeout", 120*time.Second, "give up after this long, with result \"unknown\" (0: no limit)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: checker [-timeout 120s] [-visualize out.html] history.json")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return exitOther
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return exitOther
	}
	h, err := readHistory(flags.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "checker: %v\n", err)
		return exitOther
	}
	v, err := check(h, *timeout, *visualize)
	if err != nil {
		fmt.Fprintf(stderr, "checker: %v\n", err)
		return exitOther
	}
	if err := json.NewEncoder(stdout).Encode(v); err != nil {
		fmt.Fprintf(stderr, "checker: %v\n", err)
		return exitOther
	}
	switch v.Result {
	case "ok":
		return exitLinearizable
	case "illegal":
		return exitViolation
	default:
		return exitOther
	}
}

// check checks a history with Porcupine, giving up after timeout (0: never), and writes the
// visualization to the file visualize unless it is empty.
func check(h *history, timeout time.Duration, visualize string) (verdict, error) {
	model := newModel(h.Initial)
	ops := h.porcupineOperations(true)
	var result porcupine.CheckResult
	if visualize == "" {
		result = porcupine.CheckOperationsTimeout(model, ops, timeout)
	} else {
		var info porcupine.LinearizationInfo
		result, info = porcupine.CheckOperationsVerbose(model, ops, timeout)
		if err := porcupine.VisualizePath(model, info, visualize); err != nil {
			return verdict{}, fmt.Errorf("writing the visualization: %w", err)
		}
	}
	v := verdict{Linearizable: result == porcupine.Ok, Visualization: visualize}
	v.Operations, v.Keys, v.Unknown = h.counts()
	switch result {
	case porcupine.Ok:
		v.Result = "ok"
	case porcupine.Illegal:
		v.Result = "illegal"
	default:
		v.Result = "unknown"
	}
	return v, nil
}
