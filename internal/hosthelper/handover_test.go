package hosthelper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHandoverRoundTrip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	want := Handover{Env: map[string]string{"INPUT_REGISTRY-PASSWORD": "pw\nwith a line break", "VERSION": "v2"}}
	require.NoError(t, WriteHandover(&buf, want))
	require.Equal(t, 1, strings.Count(buf.String(), "\n"), "one line")
	// What follows the document stays unread: the fleet keeps stdin open.
	r := io.MultiReader(&buf, strings.NewReader("rest"))
	got, err := ReadHandover(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestReadHandoverProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   io.Reader
		want string
	}{
		{"no stdin", nil, "the helper has no stdin"},
		{"empty stdin", strings.NewReader(""), "stdin ended before it"},
		{"not JSON", strings.NewReader("INPUT_X=1\n"), "failed to read the handover"},
		{"unknown field", strings.NewReader(`{"env":{},"cmd":"sh"}`), "unknown field"},
		{"too large", io.MultiReader(strings.NewReader(`{"env":{"A":"`), strings.NewReader(strings.Repeat("x", MaxHandover+10))), "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadHandover(context.Background(), c.in)
			require.ErrorContains(t, err, c.want)
		})
	}
	_, err := ReadHandover(context.Background(), strings.NewReader(""))
	require.True(t, errors.Is(err, ErrNoHandover))
}

// TestReadHandoverGivesUpWithContext: a helper whose stdin stays open and
// silent does not hang.
func TestReadHandoverGivesUpWithContext(t *testing.T) {
	t.Parallel()
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadHandover(ctx, r)
	require.ErrorIs(t, err, ErrNoHandover)
}
