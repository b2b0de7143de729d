package build

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Policy{"": Auto, "auto": Auto, "always": Always, "never": Never} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Always", "missing", "yes"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
