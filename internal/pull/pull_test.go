package pull

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Policy
		err  bool
	}{
		{in: "", want: Missing},
		{in: "missing", want: Missing},
		{in: "if_not_present", want: Missing},
		{in: "always", want: Always},
		{in: "never", want: Never},
		{in: "build", err: true},
		{in: "daily", err: true},
		{in: "Always", err: true},
		{in: "sometimes", err: true},
	} {
		got, err := Parse(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("Parse(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAllParse(t *testing.T) {
	t.Parallel()
	for _, p := range All {
		if got, err := Parse(string(p)); err != nil || got != p {
			t.Errorf("Parse(%q) = %q, %v", p, got, err)
		}
	}
}
