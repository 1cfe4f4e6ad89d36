package redpack

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocSnippetsAreExamples (issue 8 item 1): every Go snippet of doc.go
// and README.md is code an Example runs: its lines appear, in order, in
// example_test.go, which go test compiles and runs with // Output: checks.
func TestDocSnippetsAreExamples(t *testing.T) {
	t.Parallel()
	examples := trimmedLines(t, "example_test.go")
	var snippets [][]string
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var cur []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "\t") {
			cur = append(cur, line)
			continue
		}
		if cur != nil && line != "" {
			snippets = append(snippets, cur)
			cur = nil
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		snippets = append(snippets, strings.Split(m[1], "\n"))
	}
	if len(snippets) < 5 {
		t.Fatalf("found %d snippets; the extraction is broken", len(snippets))
	}
	for _, snip := range snippets {
		i := 0
		for _, line := range snip {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			for i < len(examples) && examples[i] != line {
				i++
			}
			if i == len(examples) {
				t.Errorf("snippet line %q is not in example_test.go (in this order):\n%s", line, strings.Join(snip, "\n"))
				break
			}
			i++
		}
	}
}

func trimmedLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}
